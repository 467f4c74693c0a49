import { createServer, type IncomingHttpHeaders } from 'node:http'
import { createSupervisor } from '@am/bus-core'
import { uniqueName } from '@am/testkit'
import { onTestFinished } from 'vitest'

/** Unique dead-letter exchange and queue names, deleted after the test. */
export function dlxNames(url: string): { exchange: string; queue: string } {
  const exchange = uniqueName('dlx')
  const queue = uniqueName('dead')
  onTestFinished(async () => {
    await using bus = createSupervisor({ urls: url })
    await bus.withChannel(async (channel) => {
      await channel.deleteQueue(queue)
      await channel.deleteExchange(exchange)
    })
  })
  return { exchange, queue }
}

/** A fake management API on loopback that records requests and answers `status`. */
export async function fakeManagement(status = 201) {
  const requests: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: unknown }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(body) })
      res.writeHead(status).end(status >= 400 ? '{"error":"not_authorised"}' : '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}/`, requests }
}
