// A web application that is not a service: an HTTP server that publishes one `OrderPlaced` event
// per `POST /orders` with `createPublisher`, and answers 202 only once the broker confirmed it.
// `AMQP_URL=amqp://… PORT=8080 node examples/dist/http-publisher.js`, then
// `curl -d '{"orderId":"A-1","total":10}' localhost:8080/orders`. The relay example consumes these.
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { redactUrl } from '@am/errors'
import { createPublisher, type Publisher } from '@am/service'
import type { OrderMessages, OrderPlaced } from './relay.js'

/** Options of `startHttpPublisher`. */
export interface HttpPublisherOptions {
  /** Broker URLs, tried round-robin. */
  urls: string | readonly string[]
  /** @default 0 (any free port) */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
}

/** A running HTTP publisher. */
export interface HttpPublisher extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number
  /** Stops taking requests, waits for the ones in flight and for their confirms. */
  close(): Promise<void>
}

/** Starts the HTTP server; the publisher connects at the first order. */
export async function startHttpPublisher(options: HttpPublisherOptions): Promise<HttpPublisher> {
  const publisher = createPublisher<OrderMessages>({ urls: options.urls, name: 'shop-web' })
  const server = createServer((request, response) => {
    void handle(publisher, request, response)
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve))
  const close = async (): Promise<void> => {
    await closeServer(server)
    await publisher.close()
  }
  return { port: (server.address() as AddressInfo).port, close, [Symbol.asyncDispose]: close }
}

async function handle(
  publisher: Publisher<OrderMessages>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.url !== '/orders') return reply(response, 404, { error: 'not found: POST /orders' })
  if (request.method !== 'POST') return reply(response, 405, { error: 'method not allowed: POST /orders' })
  let order: OrderPlaced
  try {
    order = parseOrder(await readBody(request))
  } catch (error) {
    return reply(response, 400, { error: (error as Error).message })
  }
  // An order from outside the bus starts a conversation: this is an initial event.
  const conversationId = randomUUID()
  try {
    await publisher.publishEvent('OrderPlaced', order, { conversationId })
  } catch (error) {
    return reply(response, 503, { error: `the order was not published: ${redactUrl((error as Error).message)}` })
  }
  reply(response, 202, { conversationId })
}

function parseOrder(text: string): OrderPlaced {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Error('the body must be JSON: {"orderId": string, "total": number}')
  }
  const { orderId, total } = (value ?? {}) as Partial<OrderPlaced>
  if (typeof orderId !== 'string' || typeof total !== 'number') {
    throw new Error('the body must be {"orderId": string, "total": number}')
  }
  return { orderId, total }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function reply(response: ServerResponse, status: number, body: Record<string, string>): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
}

async function main(): Promise<void> {
  const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/'
  const running = await startHttpPublisher({ urls: url, port: Number(process.env.PORT ?? 8080) })
  process.stdout.write(
    `POST http://127.0.0.1:${running.port}/orders publishes OrderPlaced on ${redactUrl(url)} (Ctrl-C stops)\n`,
  )
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void running.close().then(() => process.stdout.write('stopped\n'))
    })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
