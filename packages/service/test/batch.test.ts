import { closeConnections } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import {
  type BatchEntry,
  batch,
  eventProperties,
  type Handlers,
  Service,
  ServiceError,
  type ServiceOptions,
} from '../src/index.js'
import { cleanupQueues, deadLetters, logSpy, peer, run, send, spy, unacked, uniqueName, waitFor } from './helpers.js'

/** A service whose name and handlers are given per test, counting its sessions. */
class BatchService extends Service {
  readonly name: string
  readyCalls = 0

  constructor(
    name: string,
    private readonly table: Handlers,
    options: ServiceOptions,
  ) {
    super(options)
    this.name = name
  }

  protected handlers(): Handlers {
    return this.table
  }

  protected override onReady(): void {
    this.readyCalls += 1
  }
}

function serviceName(): string {
  const name = uniqueName('batch')
  cleanupQueues(name)
  return name
}

/** What a test keeps of a batch: payloads and redelivered flags, in order. */
function summary(entries: BatchEntry<unknown>[]): Array<[unknown, boolean]> {
  return entries.map((entry) => [entry.payload, entry.ctx.redelivered])
}

/** received, acked, requeued, deadLettered, handlerErrors of every routing key. */
function counts(service: Service): number[][] {
  return service
    .stats()
    .inputs.map(({ received, acked, requeued, deadLettered, handlerErrors }) => [
      received,
      acked,
      requeued,
      deadLettered,
      handlerErrors,
    ])
}

describe('batch', () => {
  it('calls back with maxEntries messages as soon as they are in, and acks each', async () => {
    const name = serviceName()
    const event = uniqueName('Item')
    const bus = await peer()
    const calls: Array<Array<[unknown, boolean]>> = []
    const service = await run(
      (o) =>
        new BatchService(
          name,
          {
            events: {
              [event]: batch({ maxEntries: 4, timeoutMs: 60_000 }, (entries) => void calls.push(summary(entries))),
            },
          },
          { ...o, prefetch: 4 },
        ),
    )
    for (let i = 0; i < 8; i++) await send(bus, 'events', event, i, eventProperties(`c${i}`))
    await waitFor(() => counts(service)[0]?.[1] === 8, 10_000, 'eight acks')
    expect(calls).toEqual([
      [
        [0, false],
        [1, false],
        [2, false],
        [3, false],
      ],
      [
        [4, false],
        [5, false],
        [6, false],
        [7, false],
      ],
    ])
    expect(counts(service)).toEqual([[8, 8, 0, 0, 0]])
  })

  it('calls back timeoutMs after the first message with what is in', async () => {
    const name = serviceName()
    const event = uniqueName('Item')
    const bus = await peer()
    const calls: Array<{ entries: Array<[unknown, boolean]>; at: number }> = []
    const service = await run(
      (o) =>
        new BatchService(
          name,
          {
            events: {
              [event]: batch({ maxEntries: 100, timeoutMs: 300 }, (entries) => {
                calls.push({ entries: summary(entries), at: performance.now() })
              }),
            },
          },
          { ...o, prefetch: 100 },
        ),
    )
    const sent = performance.now()
    for (let i = 0; i < 3; i++) await send(bus, 'events', event, i, eventProperties(`c${i}`))
    await waitFor(() => counts(service)[0]?.[1] === 3, 10_000, 'three acks')
    expect(calls.map((c) => c.entries)).toEqual([
      [
        [0, false],
        [1, false],
        [2, false],
      ],
    ])
    // The timer starts at the first push, after `sent`; Node may fire a timer up to 1 ms early.
    expect(calls[0]?.at ?? 0).toBeGreaterThanOrEqual(sent + 299)
    expect(counts(service)).toEqual([[3, 3, 0, 0, 0]])
  })

  it('requeues every message of a throwing callback once, then dead-letters them', async () => {
    const name = serviceName()
    const event = uniqueName('Boom')
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    const calls: Array<Array<[unknown, boolean]>> = []
    const service = await run(
      (o) =>
        new BatchService(
          name,
          {
            events: {
              [event]: batch({ maxEntries: 3, timeoutMs: 5_000 }, (entries) => {
                calls.push(summary(entries))
                throw new Error('batch bug')
              }),
            },
          },
          o,
        ),
    )
    for (const p of ['a', 'b', 'c']) await send(bus, 'events', event, p, eventProperties(`conv-${p}`))
    await dead.nth(3)
    await waitFor(() => logs.messages.length >= 9, 5_000, 'nine logs')
    expect(calls).toEqual([
      [
        ['a', false],
        ['b', false],
        ['c', false],
      ],
      [
        ['a', true],
        ['b', true],
        ['c', true],
      ],
    ])
    expect(dead.messages.map((m) => dead.payload(m)).sort()).toEqual(['a', 'b', 'c'])
    expect(logs.logs().map((l, i) => [logs.levels()[i], l.short_message, l._conversation_id])).toEqual([
      ['ALERT', `Unhandled error while processing message ${event}`, 'conv-a'],
      ['ALERT', `Unhandled error while processing message ${event}`, 'conv-b'],
      ['ALERT', `Unhandled error while processing message ${event}`, 'conv-c'],
      ['ALERT', `Unhandled error while processing message ${event}`, 'conv-a'],
      ['EMERGENCY', `Giving up on ${event}`, 'conv-a'],
      ['ALERT', `Unhandled error while processing message ${event}`, 'conv-b'],
      ['EMERGENCY', `Giving up on ${event}`, 'conv-b'],
      ['ALERT', `Unhandled error while processing message ${event}`, 'conv-c'],
      ['EMERGENCY', `Giving up on ${event}`, 'conv-c'],
    ])
    expect(counts(service)).toEqual([[6, 0, 3, 3, 6]])
    expect(await unacked(`${name}.events`)).toBe(0)
  })

  it('acks no message of a batch before every publish of its callback is confirmed', async () => {
    const name = serviceName()
    const input = uniqueName('In')
    const full = uniqueName('Full')
    const bus = await peer()
    // A queue that holds one message and nacks the next: the callback's output is nacked until it is emptied.
    const fullQueue = uniqueName('full-q')
    await bus.extendTopology({
      exchanges: [],
      queues: [
        {
          key: fullQueue,
          name: fullQueue,
          durable: false,
          autoDelete: true,
          arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
        },
      ],
      bindings: [{ queue: fullQueue, exchange: 'events', routingKey: full }],
    })
    await bus.publish('events', full, Buffer.from('filler'))
    let callbacks = 0
    const service = await run(
      (o) =>
        new BatchService(
          name,
          {
            events: {
              [input]: batch({ maxEntries: 3, timeoutMs: 60_000 }, (entries) => {
                callbacks += 1
                // One summary, in the conversation of the last message: all three wait for its confirm.
                void entries[2]?.ctx.publishEvent(full, { count: entries.length })
              }),
            },
          },
          { ...o, nackRetryDelaysMs: Array.from({ length: 40 }, () => 300) },
        ),
    )
    for (let i = 0; i < 3; i++) await send(bus, 'events', input, i, eventProperties(`c${i}`))
    await waitFor(() => callbacks === 1, 5_000, 'the callback')
    // Published and nacked at least twice meanwhile.
    await waitFor(() => (service.stats().outputs[0]?.nacked ?? 0) >= 2, 5_000, 'two nacked outputs')
    expect([counts(service), await unacked(`${name}.events`)]).toEqual([[[3, 0, 0, 0, 0]], 3])
    await bus.withChannel(async (ch) => {
      await ch.purgeQueue(fullQueue)
    })
    await waitFor(() => counts(service)[0]?.[1] === 3, 5_000, 'the acks after the confirm')
    expect([counts(service), (await bus.checkQueue(fullQueue)).messageCount]).toEqual([[[3, 3, 0, 0, 0]], 1])
  })

  it('leaves out the messages of a lost connection, handling their redeliveries once', async () => {
    const name = serviceName()
    const event = uniqueName('Item')
    const bus = await peer()
    const calls: Array<Array<[unknown, boolean]>> = []
    const service = await run(
      (o) =>
        new BatchService(
          name,
          {
            events: {
              [event]: batch({ maxEntries: 3, timeoutMs: 60_000 }, (entries) => void calls.push(summary(entries))),
            },
          },
          { ...o, supervisor: { connectionName: `${name}-conn` } },
        ),
    )
    await send(bus, 'events', event, 'a', eventProperties('c'))
    await send(bus, 'events', event, 'b', eventProperties('c'))
    await waitFor(() => counts(service)[0]?.[0] === 2, 5_000, 'two pending messages')
    expect(await closeConnections(`${name}-conn`)).toBe(1)
    await waitFor(() => service.readyCalls === 2, 10_000, 'the new connection')
    await waitFor(() => counts(service)[0]?.[0] === 4, 5_000, 'the two redeliveries')
    expect(calls).toEqual([])
    await send(bus, 'events', event, 'c', eventProperties('c'))
    await waitFor(() => counts(service)[0]?.[1] === 3, 5_000, 'three acks')
    expect(calls).toEqual([
      [
        ['a', true],
        ['b', true],
        ['c', false],
      ],
    ])
    expect(counts(service)).toEqual([[5, 3, 0, 0, 0]])
    expect(await unacked(`${name}.events`)).toBe(0)
  })

  it('sends nothing and acks nothing for a batch whose connection died during its callback: the redeliveries do', async () => {
    const name = serviceName()
    const input = uniqueName('In')
    const output = uniqueName('Out')
    const bus = await peer()
    const outputs = await spy(bus, 'events', output)
    const calls: Array<{ entries: Array<[unknown, boolean]>; errors: unknown[] }> = []
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const service = await run(
      (o) =>
        new BatchService(
          name,
          {
            events: {
              [input]: batch({ maxEntries: 2, timeoutMs: 60_000 }, async (entries) => {
                const call = { entries: summary(entries), errors: [] as unknown[] }
                calls.push(call)
                if (!entries[0]?.ctx.redelivered) await held
                const sent = await Promise.allSettled(entries.map((e) => e.ctx.publishEvent(output, e.payload)))
                call.errors = sent.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'sent'))
              }),
            },
          },
          { ...o, supervisor: { connectionName: `${name}-conn` } },
        ),
    )
    await send(bus, 'events', input, 'a', eventProperties('c'))
    await send(bus, 'events', input, 'b', eventProperties('c'))
    await waitFor(() => calls.length === 1, 5_000, 'the first batch')
    expect(await closeConnections(`${name}-conn`)).toBe(1)
    await waitFor(() => calls.length === 2, 10_000, 'the batch of the redeliveries')
    await outputs.nth(2)
    release()
    await waitFor(() => calls[0]?.errors.length === 2, 5_000, 'the first callback to end')
    await waitFor(() => counts(service)[0]?.[1] === 2, 5_000, 'two acks')
    expect(calls).toEqual([
      {
        entries: [
          ['a', false],
          ['b', false],
        ],
        errors: ['PUBLISH_CHANNEL_CLOSED', 'PUBLISH_CHANNEL_CLOSED'],
      },
      {
        entries: [
          ['a', true],
          ['b', true],
        ],
        errors: ['sent', 'sent'],
      },
    ])
    expect([
      counts(service),
      service.stats().outputs.map((s) => [s.published, s.confirmed]),
      outputs.messages.map((m) => outputs.payload(m)),
    ]).toEqual([[[4, 2, 0, 0, 0]], [[2, 2]], ['a', 'b']])
  })

  it('runs the callback on the pending messages at stop, acking them after its outputs are confirmed', async () => {
    const name = serviceName()
    const input = uniqueName('In')
    const output = uniqueName('Out')
    const bus = await peer()
    const outputs = await spy(bus, 'events', output)
    const calls: Array<Array<[unknown, boolean]>> = []
    const service = await run(
      (o) =>
        new BatchService(
          name,
          {
            events: {
              [input]: batch({ maxEntries: 10, timeoutMs: 60_000 }, async (entries) => {
                calls.push(summary(entries))
                for (const entry of entries) void entry.ctx.publishEvent(output, entry.payload)
              }),
            },
          },
          { ...o, prefetch: 10 },
        ),
    )
    await send(bus, 'events', input, 'a', eventProperties('c'))
    await send(bus, 'events', input, 'b', eventProperties('c'))
    await waitFor(() => counts(service)[0]?.[0] === 2, 5_000, 'two pending messages')
    expect(calls).toEqual([])
    await service.stop()
    await outputs.nth(2)
    expect([calls, counts(service), (await bus.checkQueue(`${name}.events`)).messageCount]).toEqual([
      [
        [
          ['a', false],
          ['b', false],
        ],
      ],
      [[2, 2, 0, 0, 0]],
      0,
    ])
    expect(outputs.messages.map((m) => outputs.payload(m))).toEqual(['a', 'b'])
  })

  it('refuses to start when prefetch is below maxEntries, saying how to fix it', async () => {
    const name = uniqueName('batch')
    const service = new BatchService(
      name,
      { events: { Item: batch({ maxEntries: 10, timeoutMs: 100 }, () => undefined) } },
      { urls: 'amqp://127.0.0.1:1', handleSignals: false, prefetch: 4 },
    )
    const error = await service.start().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ServiceError)
    const { name: errorName, code, message } = error as ServiceError
    expect({ name: errorName, code, message }).toEqual({
      name: 'ServiceError',
      code: 'BATCH_PREFETCH_TOO_LOW',
      message:
        `the batch of 'Item' in ${name} waits for 10 messages, but prefetch is 4: the broker never delivers more ` +
        'unacked messages than prefetch, so the batch could never be full. Raise prefetch to 10 or more, or lower maxEntries to 4 or less',
    })
    expect(service.state).toBe('idle')
  })

  it('refuses invalid limits and batched configurations', async () => {
    expect(() => batch({ maxEntries: 0, timeoutMs: 100 }, () => undefined)).toThrow(
      'batch maxEntries must be an integer ≥ 1, got 0',
    )
    expect(() => batch({ maxEntries: 2, timeoutMs: Number.NaN }, () => undefined)).toThrow(
      'batch timeoutMs must be a finite number ≥ 0, got NaN',
    )
    const service = new BatchService(
      uniqueName('batch'),
      { configurations: { Settings: batch({ maxEntries: 1, timeoutMs: 100 }, () => undefined) as never } },
      { urls: 'amqp://127.0.0.1:1', handleSignals: false },
    )
    await expect(service.start()).rejects.toMatchObject({
      code: 'SERVICE_INVALID',
      message: `the configuration 'Settings' in ${service.name} cannot be batched`,
    })
  })
})
