import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createSupervisor, type Supervisor } from '@am/bus-core'
import { createMemoryContext } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { eventProperties } from '@am/protocol'
import { drain, uniqueName, useTempDir, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { type InspectQueueOptions, inspectQueue } from '../src/commands/inspect-queue.js'
import { queueWith } from './helpers.js'

const url = inject('amqpUrl')

async function broker(): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: 'am-inspect-queue-test' })
  onTestFinished(() => bus.close())
  await bus.ready()
  return bus
}

async function inspect(queue: string, options: InspectQueueOptions = {}) {
  const memory = createMemoryContext()
  const result = await inspectQueue(memory.ctx, [url, queue], { ndjson: true, ...options })
  const lines = memory.json() as Array<Record<string, unknown>>
  return { result, lines, memory }
}

const numbered = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ body: encode({ i }), options: eventProperties(`conv-${i}`) }))

describe('inspectQueue', () => {
  it('shows the messages and leaves the queue as it was: same count, same order', async () => {
    const bus = await broker()
    const queue = await queueWith(bus, numbered(5))
    const { result, lines } = await inspect(queue)
    expect(result).toEqual({ queue, ready: 5, shown: 5, saved: 0 })
    expect(lines.map((line) => line.payload)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })))
    expect(lines[0]).toEqual({
      index: 1,
      exchange: '',
      routingKey: queue,
      redelivered: false,
      properties: { contentType: 'application/cbor', deliveryMode: 2, correlationId: '', replyTo: '' },
      headers: { conversation_id: 'conv-0' },
      payload: { i: 0 },
    })
    await waitFor(async () => (await bus.checkQueue(queue)).messageCount === 5, 5_000, 'the messages back')
    const after = await drain(bus, queue)
    expect(after.map((message) => message.properties.headers?.conversation_id)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `conv-${i}`),
    )
    // The one trace AMQP cannot avoid: a message delivered and not acked comes back redelivered.
    expect(after.every((message) => message.fields.redelivered)).toBe(true)
  })

  it('shows only --count messages and leaves the rest alone', async () => {
    const bus = await broker()
    const queue = await queueWith(bus, numbered(4))
    const { result, lines } = await inspect(queue, { count: 2 })
    expect(result.shown).toBe(2)
    expect(lines.map((line) => line.payload)).toEqual([{ i: 0 }, { i: 1 }])
    await waitFor(async () => (await bus.checkQueue(queue)).messageCount === 4, 5_000, 'the messages back')
    const after = await drain(bus, queue)
    expect(after.map((message) => [message.properties.headers?.conversation_id, message.fields.redelivered])).toEqual([
      ['conv-0', true],
      ['conv-1', true],
      ['conv-2', false],
      ['conv-3', false],
    ])
  })

  it('stops at the end of the queue when --count is larger, without waiting', async () => {
    const bus = await broker()
    const queue = await queueWith(bus, numbered(3))
    const started = Date.now()
    const { result, memory } = await inspect(queue, { count: 50 })
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(result).toMatchObject({ ready: 3, shown: 3 })
    expect(memory.messages.at(-1)?.text).toMatch(/^3 messages of .+ shown \(the queue held only 3\)/)
    await waitFor(async () => (await bus.checkQueue(queue)).messageCount === 3, 5_000, 'the messages back')
  })

  it('works on an empty queue', async () => {
    const bus = await broker()
    const queue = await queueWith(bus, [])
    const { result, lines, memory } = await inspect(queue)
    expect(result).toEqual({ queue, ready: 0, shown: 0, saved: 0 })
    expect(lines).toEqual([])
    expect(memory.messages.map((m) => m.text)).toEqual([`Queue ${queue} is empty.`])
    const counted = await inspect(queue, { count: 3 })
    expect(counted.result.shown).toBe(0)
  })

  it('fails clearly (exit 1) on a queue that does not exist', async () => {
    const missing = uniqueName('am-inspect-missing')
    const memory = createMemoryContext()
    await expect(inspectQueue(memory.ctx, [url, missing], {})).rejects.toMatchObject({
      code: 'CLI_FAILED',
      exitCode: 1,
      message: `queue "${missing}" does not exist on this vhost: check its name`,
    })
  })

  it('shows undecodable bodies as hex with the error, and reads a body without content type as JSON', async () => {
    const bus = await broker()
    const queue = await queueWith(bus, [
      { body: Buffer.from([0xa1, 0x61]), options: { contentType: 'application/cbor' } },
      { body: Buffer.from('{"gelf": 1}') },
      { body: Buffer.from('x'), options: { contentType: 'text/plain' } },
    ])
    const { lines } = await inspect(queue)
    expect(lines.map(({ payload, payloadError, body }) => ({ payload, payloadError, body }))).toEqual([
      { payloadError: expect.stringMatching(/ends in the middle/), body: { $bytes: 'oWE=' } },
      { payload: { gelf: 1 } },
      { payloadError: expect.stringMatching(/unsupported content type "text\/plain"/), body: { $bytes: 'eA==' } },
    ])
  })

  it('decodes x-death: timestamps as dates', async () => {
    const bus = await broker()
    const dlx = uniqueName('am-inspect-dlx')
    await bus.withChannel(async (channel) => {
      await channel.assertExchange(dlx, 'fanout', { durable: false, autoDelete: true })
    })
    const dlq = await queueWith(bus, [])
    const source = uniqueName('am-inspect-src')
    await bus.withChannel(async (channel) => {
      await channel.bindQueue(dlq, dlx, '')
      await channel.assertQueue(source, { durable: false, arguments: { 'x-dead-letter-exchange': dlx } })
    })
    onTestFinished(async () => {
      await bus.withChannel((channel) => channel.deleteQueue(source))
    })
    await bus.publish('', source, encode({ x: 1 }), eventProperties('conv-dead'))
    await bus.withChannel(async (channel) => {
      const message = await waitFor(() => channel.get(source), 5_000, 'the message')
      channel.nack(message, false, false)
    })
    await waitFor(async () => (await bus.checkQueue(dlq)).messageCount === 1, 5_000, 'the dead letter')
    const { lines, memory } = await inspect(dlq)
    const headers = lines[0]?.headers as { 'x-death': Array<Record<string, unknown>> }
    const death = headers['x-death'][0] as Record<string, unknown>
    expect(death).toMatchObject({ count: 1, reason: 'rejected', queue: source, exchange: '', 'routing-keys': [source] })
    expect(death.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
    expect(memory.stdout()).not.toContain('"!"')
    const human = createMemoryContext()
    await inspectQueue(human.ctx, [url, dlq], {})
    expect(human.messages[0]?.text).toContain(
      `Died: rejected in queue ${source} (exchange "", routing keys ${source}) 1 time(s) last at `,
    )
  })

  it('saves the original bytes under safe names, na without conversation_id, never overwriting', async () => {
    const bus = await broker()
    const dir = await useTempDir('am-inspect-')
    const cbor = encode({ a: 1 })
    const queue = await queueWith(bus, [
      { body: cbor, options: eventProperties('../x') },
      { body: cbor, options: eventProperties('../x') },
      { body: Buffer.from('{"b":2}'), options: { contentType: 'application/json' } },
      { body: Buffer.from([1, 2]) },
    ])
    const first = await inspect(queue, { save: true, dir })
    expect(first.result.saved).toBe(4)
    await inspect(queue, { save: true, dir, count: 1 })
    expect((await readdir(dir)).sort()).toEqual(
      [`${queue}.__x.cbor`, `${queue}.__x.2.cbor`, `${queue}.__x.3.cbor`, `${queue}.na.json`, `${queue}.na.bin`].sort(),
    )
    expect(await readFile(join(dir, `${queue}.__x.2.cbor`))).toEqual(cbor)
    expect(await readFile(join(dir, `${queue}.na.json`), 'utf8')).toBe('{"b":2}')
    expect(first.lines.map((line) => line.savedAs)).toEqual([
      join(dir, `${queue}.__x.cbor`),
      join(dir, `${queue}.__x.2.cbor`),
      join(dir, `${queue}.na.json`),
      join(dir, `${queue}.na.bin`),
    ])
  })

  it('prints the human format by default', async () => {
    const bus = await broker()
    const queue = await queueWith(bus, [{ body: encode({ n: 1 }), options: eventProperties('conv-h') }])
    const memory = createMemoryContext()
    await inspectQueue(memory.ctx, [url, queue], {})
    expect(memory.messages.map((m) => m.text)).toEqual([
      [
        `[${queue}] #1 from exchange ""`,
        "Properties: { contentType: 'application/cbor', deliveryMode: 2, correlationId: '', replyTo: '' }",
        "Headers: { conversation_id: 'conv-h' }",
        'Payload:',
        '{ n: 1 }',
        '-----------',
        '',
      ].join('\n'),
      `1 message of ${queue} shown; all are back in the queue, in order, now flagged redelivered.`,
    ])
    expect(memory.stdout()).toBe('')
  })

  it('gives up with the abort reason when interrupted while connecting, touching nothing', async () => {
    const bus = await broker()
    const queue = await queueWith(bus, numbered(3))
    const memory = createMemoryContext()
    memory.abort()
    await expect(inspectQueue(memory.ctx, [url, queue], { ndjson: true })).rejects.toMatchObject({ name: 'AbortError' })
    expect(memory.stdout()).toBe('')
    expect((await bus.checkQueue(queue)).messageCount).toBe(3)
  })
})
