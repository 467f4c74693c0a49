import { EXCHANGES } from '@am/bus-core'
import { createMemoryContext } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { bindQueue, uniqueName, writeTempFile } from '@am/testkit'
import { describe, expect, inject, it } from 'vitest'
import { publishEvent } from '../src/commands/publish-event.js'

const url = inject('amqpUrl')

const options = { timeoutMs: 5_000, connectTimeoutMs: 5_000, ndjson: false }

describe('publishEvent', () => {
  it('sends a .json file as JSON, byte for byte, with eventail event properties', async () => {
    const event = uniqueName('DebugEvent')
    const queue = await bindQueue(url, EXCHANGES.events, event)
    const text = '{"id": 12345678901234567890, "name": "é"}\n'
    const memory = createMemoryContext()
    const result = await publishEvent(
      memory.ctx,
      { url, event, payloadFile: await writeTempFile('p.json', text) },
      { ...options, conversationId: 'conv-1' },
    )
    expect(result).toEqual({ event, conversationId: 'conv-1', contentType: 'application/json', status: 'confirmed' })
    const message = await queue.next()
    expect(message.content.toString()).toBe(text)
    expect(message.fields.exchange).toBe('events')
    expect(message.properties).toMatchObject({
      contentType: 'application/json',
      deliveryMode: 2,
      headers: { conversation_id: 'conv-1' },
      correlationId: '',
      replyTo: '',
    })
    expect(memory.messages).toEqual([
      {
        type: 'success',
        text: `event ${event} published and confirmed by the broker (conversation id conv-1, application/json)`,
      },
    ])
  })

  it('sends a .cbor file as CBOR with a fresh debug conversation id', async () => {
    const event = uniqueName('DebugEvent')
    const queue = await bindQueue(url, EXCHANGES.events, event)
    const bytes = encode({ a: [1, 2] })
    const result = await publishEvent(
      createMemoryContext().ctx,
      { url, event, payloadFile: await writeTempFile('p.cbor', bytes) },
      options,
    )
    expect(result.conversationId).toMatch(/^debug-[0-9a-f-]{36}$/)
    const message = await queue.next()
    expect(message.properties.contentType).toBe('application/cbor')
    expect(message.properties.headers).toEqual({ conversation_id: result.conversationId })
    expect(Buffer.compare(message.content, bytes)).toBe(0)
  })

  it('reports an event no queue is bound for', async () => {
    const event = uniqueName('Nobody')
    const memory = createMemoryContext()
    const result = await publishEvent(
      memory.ctx,
      { url, event, payloadFile: await writeTempFile('p.json', '{}') },
      options,
    )
    expect(result.status).toBe('unroutable')
    expect(memory.messages).toEqual([
      { type: 'error', text: `no queue is bound for ${event}: the broker returned the event, nobody would receive it` },
    ])
  })

  it('writes only NDJSON to stdout in ndjson mode', async () => {
    const event = uniqueName('Nobody')
    const memory = createMemoryContext()
    const result = await publishEvent(
      memory.ctx,
      { url, event, payloadFile: await writeTempFile('p.json', '{}') },
      { ...options, ndjson: true, conversationId: 'c' },
    )
    expect(memory.stdout()).toBe(`${JSON.stringify(result)}\n`)
  })

  it('does not connect when the payload file is invalid', async () => {
    const memory = createMemoryContext()
    await expect(
      publishEvent(
        memory.ctx,
        { url: 'amqp://127.0.0.1:1/', event: 'X', payloadFile: await writeTempFile('p.json', '{') },
        options,
      ),
    ).rejects.toMatchObject({ code: 'CLI_USAGE' })
  })
})
