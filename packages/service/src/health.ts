import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ServiceStats } from './metrics.js'
import { createExposition, type Exposition, isModuleNotFound, loadPromClient, type PromClient } from './prometheus.js'

/** What the health endpoint reads from a service. */
export interface HealthSource {
  readonly name: string
  /** `alive`: the process and its supervisor work; `ready`: connected and consuming. */
  health(): { alive: boolean; ready: boolean; state: string }
  /** The metrics snapshot served as `/metrics`. */
  stats(): ServiceStats
}

/** A running health endpoint. */
export interface HealthServer {
  readonly port: number
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
  /**
   * Add Node's process metrics (prom-client's `collectDefaultMetrics`) to `/metrics`.
   * @default false
   */
  processMetrics?: boolean
}

const NO_PROM_CLIENT =
  '/metrics needs prom-client, an optional peer dependency of @am/service: install it (service.stats() works without it)\n'

/**
 * Serves `/healthz` (200 while alive, 503 otherwise) and `/readyz` (200 when connected and
 * consuming, 503 otherwise) on Node's own http, with a JSON body `{ service, state, alive, ready }`,
 * and `/metrics` in the Prometheus text format (prom-client, loaded at the first scrape; 501 when
 * it is not installed). Other paths: 404. Connections are closed with the server, so it never
 * holds up a shutdown.
 */
export async function startHealthServer(
  source: HealthSource,
  port: number,
  options: HealthServerOptions = {},
): Promise<HealthServer> {
  const load = options.loadPromClient ?? loadPromClient
  let exposition: Promise<Exposition> | undefined
  const serveMetrics = async (response: ServerResponse): Promise<void> => {
    let text: string
    let contentType: string
    try {
      exposition ??= load().then((client) => createExposition(client, source, options.processMetrics))
      const ready = await exposition
      text = await ready.scrape()
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
    const { alive, ready, state } = source.health()
    const ok = path === '/healthz' ? alive : ready
    response
      .writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(`${JSON.stringify({ service: source.name, state, alive, ready })}\n`)
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
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
