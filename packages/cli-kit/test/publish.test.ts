import { uniqueName, waitFor, writeTempFile } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { connectBus, publishMandatory, publishPayloadFile } from '../src/index.js'
import { closedPort, createMemoryContext } from '../src/testing.js'

const url = inject('amqpUrl')

async function bus(exchange: string, queue?: { name: string; args?: Record<string, unknown> }) {
  const supervisor = await connectBus(createMemoryContext().ctx, url, {
    tool: 'kit-test',
    topology: {
      exchanges: [{ name: exchange, type: 'topic', autoDelete: true }],
      queues: queue ? [{ key: 'q', name: queue.name, durable: false, autoDelete: true, arguments: queue.args }] : [],
      bindings: queue ? [{ queue: 'q', exchange, routingKey: 'k' }] : [],
    },
  })
  onTestFinished(() => supervisor.destroy())
  return supervisor
}

describe('publishMandatory', () => {
  it('reports a confirmed publish', async () => {
    const exchange = uniqueName('kit-x')
    const supervisor = await bus(exchange, { name: uniqueName('kit-q') })
    await expect(publishMandatory(supervisor, exchange, 'k', Buffer.from('{}'), {})).resolves.toBe('confirmed')
  })

  it('reports an unroutable publish', async () => {
    const exchange = uniqueName('kit-x')
    const supervisor = await bus(exchange)
    await expect(publishMandatory(supervisor, exchange, 'nobody', Buffer.from('{}'), {})).resolves.toBe('unroutable')
  })

  it('reports a nacked publish', async () => {
    const exchange = uniqueName('kit-x')
    const supervisor = await bus(exchange, {
      name: uniqueName('kit-q'),
      args: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    })
    await expect(publishMandatory(supervisor, exchange, 'k', Buffer.from('{}'), {})).resolves.toBe('nacked')
  })
})

describe('publishPayloadFile', () => {
  const options = { tool: 'kit-test', timeoutMs: 5_000, connectTimeoutMs: 5_000 }

  /** A durable topic exchange, as the tools declare theirs, deleted after the test. */
  async function durableExchange(exchange: string, queue?: string) {
    const supervisor = await connectBus(createMemoryContext().ctx, url, {
      tool: 'kit-test',
      topology: {
        exchanges: [{ name: exchange, type: 'topic' }],
        queues: queue ? [{ key: 'q', name: queue, durable: false, autoDelete: true }] : [],
        bindings: queue ? [{ queue: 'q', exchange, routingKey: 'k' }] : [],
      },
    })
    onTestFinished(async () => {
      await supervisor.withChannel((channel) => channel.deleteExchange(exchange))
      await supervisor.destroy()
    })
    return supervisor
  }

  it('publishes the file as it is, with its properties, and reports the confirm', async () => {
    const exchange = uniqueName('kit-x')
    const queue = uniqueName('kit-q')
    const supervisor = await durableExchange(exchange, queue)
    const text = '{"id": 12345678901234567890}'
    const result = await publishPayloadFile(createMemoryContext().ctx, url, {
      ...options,
      exchange,
      routingKey: 'k',
      payloadFile: await writeTempFile('p.json', text),
      properties: (contentType) => ({ contentType, headers: { conversation_id: 'c-1' } }),
    })
    expect(result).toEqual({ status: 'confirmed', contentType: 'application/json' })
    const message = await waitFor(() => supervisor.withChannel((channel) => channel.get(queue, { noAck: true })))
    expect(message.content.toString()).toBe(text)
    expect(message.properties).toMatchObject({ contentType: 'application/json', headers: { conversation_id: 'c-1' } })
  })

  it('reports an unroutable payload', async () => {
    const exchange = uniqueName('kit-x')
    await durableExchange(exchange)
    const result = await publishPayloadFile(createMemoryContext().ctx, url, {
      ...options,
      exchange,
      routingKey: 'nobody',
      payloadFile: await writeTempFile('p.json', '{}'),
      properties: (contentType) => ({ contentType }),
    })
    expect(result.status).toBe('unroutable')
  })

  it('refuses a bad payload before connecting', async () => {
    const port = await closedPort()
    const failure = publishPayloadFile(createMemoryContext().ctx, `amqp://127.0.0.1:${port}/`, {
      ...options,
      exchange: 'x',
      routingKey: 'k',
      payloadFile: await writeTempFile('p.json', '{oops'),
      properties: () => ({}),
    })
    await expect(failure).rejects.toMatchObject({
      code: 'CLI_USAGE',
      message: expect.stringMatching(/is not valid JSON/),
    })
  })
})
