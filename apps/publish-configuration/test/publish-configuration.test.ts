import { EXCHANGES } from '@am/bus-core'
import { createMemoryContext } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { bindQueue, uniqueName, writeTempFile } from '@am/testkit'
import { describe, expect, inject, it } from 'vitest'
import { publishConfiguration } from '../src/commands/publish-configuration.js'

const url = inject('amqpUrl')

const options = { timeoutMs: 5_000, connectTimeoutMs: 5_000, ndjson: false }

describe('publishConfiguration', () => {
  it('sends a .json file as JSON, persistent, with the properties eventail services use', async () => {
    const name = uniqueName('debug.Config')
    const queue = await bindQueue(url, EXCHANGES.configurations, name)
    const text = '{"model": "fr", "big": 123456789012345678901234567890}'
    const memory = createMemoryContext()
    const result = await publishConfiguration(
      memory.ctx,
      { url, name, payloadFile: await writeTempFile('c.json', text) },
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
    const queue = await bindQueue(url, EXCHANGES.configurations, name)
    const bytes = encode(
      new Map([
        ['b', 1],
        ['a', 2],
      ]),
    )
    await publishConfiguration(
      createMemoryContext().ctx,
      { url, name, payloadFile: await writeTempFile('c.cbor', bytes) },
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
      { url, name, payloadFile: await writeTempFile('c.json', '{}') },
      { ...options, ndjson: true },
    )
    expect(result.status).toBe('unroutable')
    expect(memory.stdout()).toBe(`${JSON.stringify(result)}\n`)
    expect(memory.messages.map((m) => m.type)).toEqual(['error'])
  })
})
