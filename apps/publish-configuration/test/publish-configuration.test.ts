import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSupervisor, defineTopology, EXCHANGES } from '@am/bus-core'
import { createMemoryContext } from '@am/cli-kit'
import { encode } from '@am/codec'
import { uniqueName, waitFor } from '@am/testkit'
import type { GetMessage } from 'amqplib'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { publishConfiguration } from '../src/commands/publish-configuration.js'

const url = inject('amqpUrl')

async function payloadFile(name: string, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'publish-configuration-'))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, name), content)
  return join(dir, name)
}

/** An exclusive queue bound on `configurations` to `name`; `next()` gets the next message. */
async function listen(name: string) {
  const bus = createSupervisor({
    urls: url,
    topology: defineTopology({
      exchanges: [{ name: EXCHANGES.configurations, type: 'topic' }],
      queues: [{ key: 'q', name: '' }],
      bindings: [{ queue: 'q', exchange: EXCHANGES.configurations, routingKey: name }],
    }),
  })
  onTestFinished(() => bus.destroy())
  await bus.ready()
  return {
    next: () =>
      waitFor(
        () => bus.withChannel(async (ch) => (await ch.get(bus.queueName('q') as string, { noAck: true })) || undefined),
        5_000,
        `configuration ${name}`,
      ) as Promise<GetMessage>,
  }
}

const options = { timeoutMs: 5_000, connectTimeoutMs: 5_000, ndjson: false }

describe('publishConfiguration', () => {
  it('sends a .json file as JSON, persistent, with the properties eventail services use', async () => {
    const name = uniqueName('debug.Config')
    const queue = await listen(name)
    const text = '{"model": "fr", "big": 123456789012345678901234567890}'
    const memory = createMemoryContext()
    const result = await publishConfiguration(
      memory.ctx,
      { url, name, payloadFile: await payloadFile('c.json', text) },
      options,
    )
    expect(result).toEqual({ configuration: name, contentType: 'application/json', status: 'confirmed' })
    const message = await queue.next()
    expect(message.content.toString()).toBe(text)
    expect(message.fields.exchange).toBe('configurations')
    expect(message.properties).toMatchObject({
      contentType: 'application/json',
      deliveryMode: 2,
      headers: { conversation_id: '' },
      correlationId: '',
      replyTo: '',
    })
    expect(message.properties.contentEncoding).toBeUndefined()
    expect(memory.messages).toEqual([
      { type: 'success', text: `configuration ${name} published and confirmed by the broker (application/json)` },
    ])
  })

  it('sends a .cbor file as CBOR', async () => {
    const name = uniqueName('debug.Config')
    const queue = await listen(name)
    const bytes = encode(
      new Map([
        ['b', 1],
        ['a', 2],
      ]),
    )
    await publishConfiguration(
      createMemoryContext().ctx,
      { url, name, payloadFile: await payloadFile('c.cbor', bytes) },
      options,
    )
    const message = await queue.next()
    expect(message.properties.contentType).toBe('application/cbor')
    expect(Buffer.compare(message.content, bytes)).toBe(0)
  })

  it('reports a configuration no queue is bound for', async () => {
    const name = uniqueName('debug.Nobody')
    const memory = createMemoryContext()
    const result = await publishConfiguration(
      memory.ctx,
      { url, name, payloadFile: await payloadFile('c.json', '{}') },
      { ...options, ndjson: true },
    )
    expect(result.status).toBe('unroutable')
    expect(memory.stdout()).toBe(`${JSON.stringify(result)}\n`)
    expect(memory.messages.map((m) => m.type)).toEqual(['error'])
  })
})
