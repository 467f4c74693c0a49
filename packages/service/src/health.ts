import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ServiceStats } from './metrics.js'
import {
  createExposition,
  type Exposition,
  isModuleNotFound,
  loadPromClient,
  type MetricsMember,
  type PromClient,
} from './prometheus.js'

/** What the health endpoint reads from a service. */
export interface HealthSource {
  readonly name: string
  /** `alive`: the process and its supervisor work; `ready`: connected and consuming. */
  health(): { alive: boolean; ready: boolean; state: string }
  /** The metrics snapshot served as `/metrics`. */
  stats(): ServiceStats
}

/** What a service asks of the endpoint it joins. */
export interface HealthMemberOptions {
  /**
   * Add Node's process metrics (prom-client's `collectDefaultMetrics`) to `/metrics`: served once
   * per endpoint, without a `service` label, while at least one member asks for them.
   * @default false
   */
  processMetrics?: boolean
}

/** A running health endpoint, serving every service added to it. */
export interface HealthServer {
  readonly port: number
  /** The services served, by the key of their entry. */
  readonly members: ReadonlyMap<string, HealthSource>
  /**
   * Adds a service and returns the key of its entry in the JSON body and its `service` label: its
   * name, or `<name>#2`, `<name>#3`… for a second instance of a name in the process.
   */
  add(source: HealthSource, options?: HealthMemberOptions): string
  /** Removes a service; true when it was there. */
  remove(source: HealthSource): boolean
  close(): Promise<void>
}

/** Options of `startHealthServer`. */
export interface HealthServerOptions {
  /** @default '0.0.0.0' */
  host?: string
  /**
   * Loads prom-client for `/metrics`, at the first scrape.
   * @default a dynamic `import('prom-client')`
   */
  loadPromClient?: () => Promise<PromClient>
}

/** The JSON body of `/healthz` and `/readyz`. */
export interface HealthBody {
  /** Every service alive (and at least one served). */
  alive: boolean
  /** Every service ready (and at least one served). */
  ready: boolean
  services: Record<string, { state: string; alive: boolean; ready: boolean }>
}

const NO_PROM_CLIENT =
  '/metrics needs prom-client, an optional peer dependency of @am/service: install it (service.stats() works without it)\n'

/**
 * Serves `/healthz` (200 while every service is alive, 503 otherwise) and `/readyz` (200 when every
 * service is connected and consuming, 503 otherwise) on Node's own http, with the JSON body
 * {@link HealthBody}, and `/metrics` in the Prometheus text format with a `service` label per
 * service (prom-client, loaded at the first scrape; 501 when it is not installed). Other paths: 404.
 * Connections are closed with the server, so it never holds up a shutdown.
 * @internal
 */
export async function startHealthServer(port: number, options: HealthServerOptions = {}): Promise<HealthServer> {
  const load = options.loadPromClient ?? loadPromClient
  const members = new Map<string, HealthSource>()
  const wantsProcessMetrics = new Set<HealthSource>()
  const list = (): MetricsMember[] => [...members].map(([key, source]) => ({ key, source }))
  let exposition: Promise<Exposition> | undefined
  const serveMetrics = async (response: ServerResponse): Promise<void> => {
    let text: string
    let contentType: string
    try {
      exposition ??= load().then((client) => createExposition(client, list))
      const ready = await exposition
      text = await ready.scrape(wantsProcessMetrics.size > 0)
      contentType = ready.contentType
    } catch (error) {
      const missing = isModuleNotFound(error)
      const message = missing ? NO_PROM_CLIENT : `/metrics failed: ${(error as Error).message}\n`
      response.writeHead(missing ? 501 : 500, { 'content-type': 'text/plain' }).end(message)
      return
    }
    response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(text)
  }
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (path === '/metrics') {
      void serveMetrics(response) // settles on its own: every failure is answered
      return
    }
    if (path !== '/healthz' && path !== '/readyz') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    const body = healthBody(members)
    const ok = path === '/healthz' ? body.alive : body.ready
    response
      .writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(`${JSON.stringify(body)}\n`)
  })
  server.keepAliveTimeout = 1_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.unref()
  let closing: Promise<void> | undefined
  return {
    port: (server.address() as AddressInfo).port,
    members,
    add(source, memberOptions = {}) {
      let key = source.name
      for (let n = 2; members.has(key); n++) key = `${source.name}#${n}`
      members.set(key, source)
      if (memberOptions.processMetrics) wantsProcessMetrics.add(source)
      return key
    },
    remove(source) {
      wantsProcessMetrics.delete(source)
      for (const [key, member] of members) {
        if (member !== source) continue
        members.delete(key)
        return true
      }
      return false
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

function healthBody(members: ReadonlyMap<string, HealthSource>): HealthBody {
  const services: HealthBody['services'] = {}
  let alive = members.size > 0
  let ready = members.size > 0
  for (const [key, source] of members) {
    const health = source.health()
    services[key] = { state: health.state, alive: health.alive, ready: health.ready }
    alive &&= health.alive
    ready &&= health.ready
  }
  return { alive, ready, services }
}

/** A service's place on the endpoint of its port. */
export interface HealthMembership {
  readonly port: number
  /** The key of the service's entry (see `HealthServer.add`). */
  readonly key: string
  /** Leaves the endpoint; the last service to leave closes it. Idempotent. */
  leave(): Promise<void>
}

/** The shared endpoints of the process, by `host:port`; port 0 (any free port) is never shared. */
const endpoints = new Map<string, { server: Promise<HealthServer>; members: number }>()
/** Endpoints being closed, by `host:port`: the next one on that port waits for its port to be free. */
const closing = new Map<string, Promise<void>>()

/**
 * Adds `source` to the process's health endpoint on `port`, starting it if it is the first: every
 * service of a process that asks for the same port is served by one server. Port 0 starts a server
 * of the service's own, on a free port.
 * @internal
 */
export async function joinHealthServer(
  source: HealthSource,
  port: number,
  options: HealthServerOptions & HealthMemberOptions = {},
): Promise<HealthMembership> {
  const id = `${options.host ?? '0.0.0.0'}:${port}`
  let endpoint = port === 0 ? undefined : endpoints.get(id)
  if (!endpoint) {
    const previous = closing.get(id)
    const server = (previous ?? Promise.resolve()).then(() => startHealthServer(port, options))
    endpoint = { server, members: 0 }
    const created = endpoint
    if (port !== 0) {
      endpoints.set(id, created)
      server.catch(() => {
        if (endpoints.get(id) === created) endpoints.delete(id)
      })
    }
  }
  endpoint.members += 1
  const joined = endpoint
  let server: HealthServer
  try {
    server = await joined.server
  } catch (error) {
    joined.members -= 1
    throw error
  }
  const key = server.add(source, options)
  let left: Promise<void> | undefined
  return {
    port: server.port,
    key,
    leave: () => {
      left ??= (async () => {
        server.remove(source)
        joined.members -= 1
        if (joined.members > 0) return
        if (endpoints.get(id) === joined) endpoints.delete(id)
        const done = server.close()
        if (port !== 0) {
          closing.set(id, done)
          void done.then(() => {
            if (closing.get(id) === done) closing.delete(id)
          })
        }
        await done
      })()
      return left
    },
  }
}
