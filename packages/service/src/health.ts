import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the health endpoint reads from a service. */
export interface HealthSource {
  readonly name: string
  /** `alive`: the process and its supervisor work; `ready`: connected and consuming. */
  health(): { alive: boolean; ready: boolean; state: string }
}

/** A running health endpoint. */
export interface HealthServer {
  readonly port: number
  close(): Promise<void>
}

/**
 * Serves `/healthz` (200 while alive, 503 otherwise) and `/readyz` (200 when connected and
 * consuming, 503 otherwise) on Node's own http, with a JSON body `{ service, state, alive, ready }`.
 * Other paths: 404. Connections are closed with the server, so it never holds up a shutdown.
 */
export async function startHealthServer(source: HealthSource, port: number, host = '0.0.0.0'): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
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
    server.listen(port, host, () => {
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
