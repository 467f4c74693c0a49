import { createSupervisor } from '@am/bus-core'
import { closeConnections } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import {
  commandProperties,
  eventProperties,
  type Handlers,
  type Outcome,
  type Returned,
  Service,
  type ServiceOptions,
} from '../src/index.js'
import {
  cleanupQueues,
  deadLetters,
  logSpy,
  peer,
  run,
  send,
  spy,
  unacked,
  uniqueName,
  url,
  waitFor,
} from './helpers.js'

/** A service whose name and handlers are given per test. */
class TestService extends Service {
  readonly name: string
  readyCalls = 0
  unconfiguredCalls = 0
  returned: Returned[] = []

  constructor(
    name: string,
    private readonly table: Handlers,
    options: ServiceOptions,
    private readonly onReturned?: (r: Returned) => Outcome,
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

  protected override onUnconfigured(): void {
    this.unconfiguredCalls += 1
  }

  protected override handleReturnedMessage(returned: Returned): Outcome | Promise<Outcome> {
    this.returned.push(returned)
    return this.onReturned ? this.onReturned(returned) : super.handleReturnedMessage(returned)
  }
}

function serviceName(prefix = 'svc'): string {
  const name = uniqueName(prefix)
  cleanupQueues(name)
  return name
}

describe('Service on a real broker', () => {
  it('handles an event and publishes one in the same conversation, with eventail properties', async () => {
    const name = serviceName()
    const inEvent = uniqueName('Happened')
    const outEvent = uniqueName('Reacted')
    const bus = await peer()
    const out = await spy(bus, 'events', outEvent)
    const seen: unknown[] = []
    const service = await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              [inEvent]: async (payload, ctx) => {
                seen.push({ payload, conversationId: ctx.conversationId, kind: ctx.kind, redelivered: ctx.redelivered })
                await ctx.publishEvent(outEvent, { n: (payload as { n: number }).n + 1, at: 1732800000000 })
              },
            },
          },
          o,
        ),
    )
    expect([service.state, service.readyCalls]).toEqual(['ready', 1])
    await send(bus, 'events', inEvent, { n: 41 }, eventProperties('conv-7'))
    const message = await out.nth(1)
    expect(seen).toEqual([{ payload: { n: 41 }, conversationId: 'conv-7', kind: 'event', redelivered: false }])
    expect({
      payload: out.payload(message),
      contentType: message.properties.contentType,
      headers: message.headers,
      correlationId: message.properties.correlationId,
      replyTo: message.properties.replyTo,
      deliveryMode: message.properties.deliveryMode,
    }).toEqual({
      payload: { n: 42, at: 1732800000000 },
      contentType: 'application/cbor',
      headers: { conversation_id: 'conv-7' },
      correlationId: '',
      replyTo: '',
      deliveryMode: 2,
    })
    await waitFor(async () => (await unacked(`${name}.events`)) === 0)
  })

  it('answers a command with a result to its reply-to, status header first, correlation id copied', async () => {
    const name = serviceName('pong')
    const replyKey = uniqueName('ping.EchoReturn')
    const bus = await peer()
    const results = await spy(bus, 'commands', replyKey)
    await run(
      (o) =>
        new TestService(
          name,
          {
            commands: {
              [`${name}.Echo`]: (payload, ctx) => {
                void ctx.returnSuccess({ echo: payload })
                return undefined
              },
              [`${name}.Fail`]: async (_payload, ctx) => {
                await ctx.returnError({ reason: 'expected' })
                return undefined
              },
            },
          },
          { ...o, json: true },
        ),
    )
    await send(bus, 'commands', `${name}.Echo`, 'hi', commandProperties('c-1', replyKey, 'corr-1'))
    await send(bus, 'commands', `${name}.Fail`, 'x', commandProperties('c-2', replyKey, 'corr-2'))
    const [ok, failed] = [await results.nth(1), await results.nth(2)]
    expect(
      [ok, failed].map((m) => ({
        headers: Object.entries(m.headers),
        payload: results.payload(m),
        corr: m.properties.correlationId,
        type: m.properties.contentType,
      })),
    ).toEqual([
      {
        headers: [
          ['status', 'success'],
          ['conversation_id', 'c-1'],
        ],
        payload: { echo: 'hi' },
        corr: 'corr-1',
        type: 'application/json',
      },
      {
        headers: [
          ['status', 'error'],
          ['conversation_id', 'c-2'],
        ],
        payload: { reason: 'expected' },
        corr: 'corr-2',
        type: 'application/json',
      },
    ])
  })

  it('keeps the input unacked until the broker confirms its output, retrying a nacked output', async () => {
    const name = serviceName()
    const inEvent = uniqueName('In')
    const full = uniqueName('Full')
    const bus = await peer()
    // A queue that takes one message and nacks the next: the output of our handler is nacked until it is emptied.
    const fullQueue = uniqueName('full-q')
    await bus.extendTopology({
      exchanges: [],
      queues: [
        {
          key: fullQueue,
          name: fullQueue,
          durable: false,
          autoDelete: false,
          arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
        },
      ],
      bindings: [{ queue: fullQueue, exchange: 'events', routingKey: full }],
    })
    await bus.publish('events', full, Buffer.from('filler'))
    let handled = 0
    const service = await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              [inEvent]: (_p, ctx) => {
                handled += 1
                void ctx.publishEvent(full, { out: true })
                return undefined
              },
            },
          },
          { ...o, nackRetryDelaysMs: Array.from({ length: 40 }, () => 500) },
        ),
    )
    await send(bus, 'events', inEvent, 1, eventProperties('c'))
    await waitFor(() => handled === 1)
    const nacked = () => service.stats().outputs.find((o) => o.routingKey === full)?.nacked ?? 0
    await waitFor(() => nacked() >= 2, 5_000, 'a nacked output published again and nacked again')
    expect(await unacked(`${name}.events`)).toBe(1)
    await bus.withChannel(async (ch) => {
      await ch.purgeQueue(fullQueue)
    })
    await waitFor(
      async () => (await unacked(`${name}.events`)) === 0,
      5_000,
      'the input ack after the retried output is confirmed',
    )
    const count = await bus.checkQueue(fullQueue)
    expect([handled, count.messageCount]).toEqual([1, 1])
    await bus.withChannel(async (ch) => {
      await ch.deleteQueue(fullQueue)
    })
  })

  it('requeues the input once, then dead-letters it, when the retries of its nacked output run out', async () => {
    const name = serviceName()
    const inEvent = uniqueName('In')
    const out = uniqueName('Refused')
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    // A queue that holds nothing and refuses more: the broker nacks every publish routed to it.
    const refusing = uniqueName('refusing-q')
    await bus.extendTopology({
      exchanges: [],
      queues: [
        {
          key: refusing,
          name: refusing,
          durable: false,
          autoDelete: true,
          arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
        },
      ],
      bindings: [{ queue: refusing, exchange: 'events', routingKey: out }],
    })
    const calls: Array<{ redelivered: boolean; error?: string }> = []
    const retryDelays = [10, 20, 40]
    const service = await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              [inEvent]: async (payload, ctx) => {
                const call: { redelivered: boolean; error?: string } = { redelivered: ctx.redelivered }
                calls.push(call)
                try {
                  await ctx.publishEvent(out, payload)
                } catch (error) {
                  call.error = (error as { code?: string }).code
                  throw error
                }
              },
            },
          },
          { ...o, nackRetryDelaysMs: retryDelays },
        ),
    )
    await send(bus, 'events', inEvent, 'doomed', eventProperties('conv-nacked'))
    const letter = await dead.nth(1)
    await waitFor(() => service.stats().gauges.inFlight === 0 && service.stats().gauges.unsettled === 0)
    expect(calls).toEqual([
      { redelivered: false, error: 'PUBLISH_NACKED' },
      { redelivered: true, error: 'PUBLISH_NACKED' },
    ])
    const death = (letter.headers['x-death'] as Array<Record<string, unknown>>)[0]
    expect({ queue: death?.queue, reason: death?.reason, count: death?.count, payload: dead.payload(letter) }).toEqual({
      queue: `${name}.events`,
      reason: 'rejected',
      count: 1,
      payload: 'doomed',
    })
    // each handling: the first publish and one per retry delay, all nacked
    const attempts = 2 * (1 + retryDelays.length)
    const { inputs, outputs } = service.stats()
    expect({
      inputs: inputs.map(({ handlerDuration: _, ...counters }) => counters),
      outputs,
    }).toEqual({
      inputs: [
        { kind: 'event', routingKey: inEvent, received: 2, acked: 0, requeued: 1, deadLettered: 1, handlerErrors: 2 },
      ],
      outputs: [
        { kind: 'event', routingKey: out, published: attempts, confirmed: 0, nacked: attempts, returned: 0, failed: 0 },
      ],
    })
    expect([await unacked(`${name}.events`), (await bus.checkQueue(`${name}.events`)).messageCount]).toEqual([0, 0])
  })

  it('requeues a failing message once, then dead-letters it, logging ALERT, ALERT, EMERGENCY', async () => {
    const name = serviceName()
    const event = uniqueName('Boom')
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    let attempts = 0
    await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              [event]: () => {
                attempts += 1
                throw new Error('handler bug')
              },
            },
          },
          o,
        ),
    )
    await send(bus, 'events', event, { x: 1 }, eventProperties('conv-boom'))
    const letter = await dead.nth(1)
    await waitFor(() => logs.messages.length >= 3)
    expect(attempts).toBe(2)
    expect(logs.levels().slice(0, 3)).toEqual(['ALERT', 'ALERT', 'EMERGENCY'])
    expect(logs.logs()[2]).toMatchObject({ short_message: `Giving up on ${event}`, _conversation_id: 'conv-boom' })
    expect(logs.logs()[0].full_message).toContain('handler bug')
    const death = (letter.headers['x-death'] as Array<Record<string, unknown>>)[0]
    expect({ queue: death?.queue, reason: death?.reason, payload: dead.payload(letter) }).toEqual({
      queue: `${name}.events`,
      reason: 'rejected',
      payload: { x: 1 },
    })
  })

  it('dead-letters poison messages at once with one EMERGENCY log each, and keeps serving', async () => {
    const name = serviceName()
    const event = uniqueName('Good')
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    const handled: unknown[] = []
    await run(
      (o) =>
        new TestService(
          name,
          {
            events: { [event]: (p) => void handled.push(p) },
            commands: { [`${name}.Do`]: () => undefined },
          },
          o,
        ),
    )
    const props = eventProperties('c-poison')
    await send(bus, 'events', event, null, props, Buffer.from('a1', 'hex')) // truncated CBOR
    await send(bus, 'events', event, null, props, Buffer.from('ff', 'hex')) // lone break
    await send(bus, 'events', event, null, props, Buffer.from('a1616101ffff', 'hex')) // trailing bytes
    await send(bus, 'events', event, null, { ...props, contentType: 'text/plain' }, Buffer.from('hi'))
    await send(bus, 'events', event, null, { ...props, contentType: undefined }, Buffer.from('{}'))
    await send(bus, 'events', event, 1, { ...props, headers: {} }) // no conversation_id
    await send(bus, 'commands', `${name}.Do`, 1, { ...props, replyTo: '' }) // neither reply_to nor status
    await send(bus, 'events', event, { ok: true }, props)
    await dead.nth(7)
    await waitFor(() => handled.length === 1)
    expect(handled).toEqual([{ ok: true }])
    await waitFor(() => logs.messages.length >= 7)
    expect(logs.logs().map((l) => [l._levelname, l.short_message])).toEqual([
      ['EMERGENCY', `Unable to decode payload for ${event}; dead lettering.`],
      ['EMERGENCY', `Unable to decode payload for ${event}; dead lettering.`],
      ['EMERGENCY', `Unable to decode payload for ${event}; dead lettering.`],
      ['EMERGENCY', `Unable to decode payload for ${event}; dead lettering.`],
      ['EMERGENCY', `Unable to decode payload for ${event}; dead lettering.`],
      ['EMERGENCY', `Missing headers on ${event}`],
      ['EMERGENCY', 'invalid enveloppe for command/result; dead lettering.'],
    ])
  })

  it('dead-letters a message whose routing key has no handler', async () => {
    const name = serviceName()
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    await run((o) => new TestService(name, { events: { 'Known.*': () => undefined } }, o))
    // an operator bound an extra key by hand
    await bus.withChannel(async (ch) => {
      await ch.bindQueue(`${name}.events`, 'events', `${name}-Stray`)
    })
    await send(bus, 'events', `${name}-Stray`, 1, eventProperties('c'))
    expect((await dead.nth(1)).routingKey).toBe(`${name}-Stray`)
  })

  it('dead-letters the input of an unroutable result by default, and lets handleReturnedMessage decide', async () => {
    const name = serviceName()
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    const nowhere = uniqueName('nobody.Listens')
    let decision: Outcome
    const service = await run(
      (o) =>
        new TestService(
          name,
          { commands: { [`${name}.Do`]: (_p, ctx) => void ctx.returnSuccess('lost?') } },
          o,
          () => decision,
        ),
    )
    decision = 'drop'
    await send(bus, 'commands', `${name}.Do`, 1, commandProperties('c-ret', nowhere, 'corr'))
    await dead.nth(1)
    expect(service.returned.map((r) => [r.routingKey, r.payload, r.envelope])).toEqual([
      [nowhere, 'lost?', { correlation_id: 'corr', status: 'success', conversation_id: 'c-ret' }],
    ])
    decision = 'ack'
    await send(bus, 'commands', `${name}.Do`, 2, commandProperties('c-ret2', nowhere, 'corr2'))
    await waitFor(() => service.returned.length === 2)
    await waitFor(async () => (await unacked(`${name}.commands`)) === 0)
    expect(dead.messages).toHaveLength(1)
    expect(logs.levels()).not.toContain('EMERGENCY')
  })

  it('settles a message only once the publishes made through the service while it was handled are settled', async () => {
    const name = serviceName()
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const nowhere = uniqueName('nobody.Home')
    let decision: Outcome = 'drop'
    const service: TestService = await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              // through the service, not the context: eventail's global rule still binds the message in hand
              [`${name}.Go`]: () =>
                void service
                  .sendCommand(nowhere, 1, { conversationId: 'c-loose', replyTo: 'x' })
                  .catch(() => undefined),
            },
          },
          o,
          () => decision,
        ),
    )
    await send(bus, 'events', `${name}.Go`, 1, eventProperties('c-loose'))
    await dead.nth(1)
    decision = 'ack'
    await send(bus, 'events', `${name}.Go`, 2, eventProperties('c-loose2'))
    await waitFor(() => service.returned.length === 2)
    await waitFor(async () => (await unacked(`${name}.events`)) === 0)
    expect(dead.messages).toHaveLength(1)
  })

  it('handles a dead letter replayed to its queue through the default exchange under its original key', async () => {
    const name = serviceName()
    const event = uniqueName('Replayed')
    const bus = await peer()
    const seen: string[] = []
    await run((o) => new TestService(name, { events: { [event]: (_p, ctx) => void seen.push(ctx.routingKey) } }, o))
    // what am-resurrect sends: the queue's name as routing key, the death headers kept
    await send(
      bus,
      '',
      `${name}.events`,
      { again: true },
      {
        ...eventProperties('c-replay'),
        headers: {
          conversation_id: 'c-replay',
          'x-death': [
            { count: 1, reason: 'rejected', queue: `${name}.events`, exchange: 'events', 'routing-keys': [event] },
          ],
          'x-first-death-queue': `${name}.events`,
        },
      },
    )
    await waitFor(() => seen.length === 1)
    expect(seen).toEqual([event])
  })

  it('treats an awaited unroutable result as returned, not as a handler failure', async () => {
    const name = serviceName()
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    const service = await run(
      (o) =>
        new TestService(
          name,
          {
            commands: {
              [`${name}.Do`]: async (_p, ctx) => {
                await ctx.returnSuccess('nobody listens')
              },
            },
          },
          o,
        ),
    )
    const nowhere = uniqueName('nowhere.Key')
    await send(bus, 'commands', `${name}.Do`, 1, commandProperties('c-await', nowhere, 'corr'))
    await dead.nth(1)
    await waitFor(() => service.stats().gauges.inFlight === 0)
    // logs go out in order on one channel: once this one is in, any log of the handling is too
    service.log('INFO', 'marker')
    await waitFor(() => logs.messages.length >= 2)
    expect(logs.logs().map((l) => [l._levelname, l.short_message])).toEqual([
      ['ERROR', `Unroutable message commands/${nowhere}: NO_ROUTE`],
      ['INFO', 'marker'],
    ])
  })

  it('lets a handler take over the acknowledgement', async () => {
    const name = serviceName()
    const event = uniqueName('Batch')
    const bus = await peer()
    const held: Array<{ ack(): Promise<void> }> = []
    const service = await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              [event]: (_p, ctx) => {
                held.push(ctx.takeAck())
                return undefined
              },
            },
          },
          o,
        ),
    )
    for (let i = 0; i < 3; i++) await send(bus, 'events', event, i, eventProperties('c'))
    await waitFor(() => held.length === 3 && service.stats().gauges.inFlight === 0)
    expect([
      service.stats().gauges.unsettled,
      service.stats().inputs[0]?.acked,
      await unacked(`${name}.events`),
    ]).toEqual([3, 0, 3])
    for (const h of held) await h.ack()
    await waitFor(async () => (await unacked(`${name}.events`)) === 0)
  })

  it('handles up to prefetch messages concurrently', async () => {
    const name = serviceName()
    const event = uniqueName('Slow')
    const bus = await peer()
    let running = 0
    let peak = 0
    let done = 0
    let open: () => void = () => {}
    // Handlers hold until five run at once (or 3 s pass), so the peak does not depend on timing.
    const gate = new Promise<void>((resolve) => {
      open = resolve
      setTimeout(resolve, 3_000)
    })
    await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              [event]: async () => {
                running += 1
                peak = Math.max(peak, running)
                if (running === 5) open()
                await gate
                running -= 1
                done += 1
                return undefined
              },
            },
          },
          { ...o, prefetch: 5 },
        ),
    )
    await Promise.all(Array.from({ length: 15 }, (_, i) => send(bus, 'events', event, i, eventProperties('c'))))
    await waitFor(() => done === 15, 20_000)
    expect(peak).toBe(5)
  })

  it('waits for configuration before consuming business messages, and again after a reconnection', async () => {
    const name = serviceName()
    const event = uniqueName('Business')
    const config = uniqueName('ConfigDefined')
    const bus = await peer()
    const handled: unknown[] = []
    const configured: boolean[] = []
    const service = await run(
      (o) =>
        new TestService(
          name,
          {
            events: { [event]: (p) => void handled.push(p) },
            configurations: {
              [config]: (p) => {
                configured.push((p as { complete: boolean }).complete)
                return (p as { complete: boolean }).complete
              },
            },
          },
          { ...o, supervisor: { connectionName: `${name}-conn` } },
        ),
    )
    expect([service.state, service.unconfiguredCalls, service.readyCalls]).toEqual(['unconfigured', 1, 0])
    // the business message waits in its queue, with nobody consuming it
    const waiting = async () => {
      const { messageCount, consumerCount } = await bus.checkQueue(`${name}.events`)
      return messageCount === 1 && consumerCount === 0
    }
    await send(bus, 'events', event, 'early', eventProperties('c'))
    await waitFor(waiting, 5_000, 'the early message in the queue')
    expect(handled).toEqual([])
    await service.publishConfiguration(config, { complete: false })
    await waitFor(() => configured.length === 1)
    expect([service.state, await waiting()]).toEqual(['unconfigured', true])
    await service.publishConfiguration(config, { complete: true })
    await waitFor(() => handled.length === 1)
    expect([service.state, service.readyCalls, handled]).toEqual(['ready', 1, ['early']])

    await closeConnections(`${name}-conn`)
    await waitFor(() => service.unconfiguredCalls === 2, 10_000, 'the configuration phase after reconnecting')
    await send(bus, 'events', event, 'while unconfigured', eventProperties('c'))
    await waitFor(waiting, 5_000, 'the message in the queue')
    expect(handled).toEqual(['early'])
    await service.publishConfiguration(config, { complete: true })
    await waitFor(() => handled.length === 2)
    expect(service.readyCalls).toBe(2)
  })

  it('shares a queue between two instances', async () => {
    const name = serviceName()
    const event = uniqueName('Work')
    const bus = await peer()
    const byInstance = [0, 0]
    const make = (i: number) => (o: ServiceOptions) =>
      new TestService(
        name,
        {
          events: {
            [event]: () => {
              byInstance[i] = (byInstance[i] ?? 0) + 1
            },
          },
        },
        { ...o, prefetch: 1 },
      )
    await run(make(0))
    await run(make(1))
    for (let i = 0; i < 20; i++) await send(bus, 'events', event, i, eventProperties('c'))
    await waitFor(() => (byInstance[0] ?? 0) + (byInstance[1] ?? 0) === 20, 10_000)
    expect(byInstance.every((n) => n >= 5)).toBe(true)
  })

  it('sends a request and resolves with its result; error results, timeouts and unroutable commands reject typed', async () => {
    const responder = serviceName('responder')
    const requester = serviceName('requester')
    await run(
      (o) =>
        new TestService(
          responder,
          {
            commands: {
              [`${responder}.Square`]: (p, ctx) => void ctx.returnSuccess((p as number) ** 2),
              [`${responder}.Refuse`]: (_p, ctx) => void ctx.returnError({ reason: 'no' }),
              [`${responder}.Ignore`]: () => undefined,
            },
          },
          o,
        ),
    )
    const client = await run((o) => new TestService(requester, {}, o))
    expect(await client.request(`${responder}.Square`, 12, { conversationId: 'r1' })).toBe(144)
    await expect(client.request(`${responder}.Refuse`, 1, { conversationId: 'r2' })).rejects.toMatchObject({
      code: 'REQUEST_FAILED',
      payload: { reason: 'no' },
      status: 'error',
    })
    await expect(
      client.request(`${responder}.Ignore`, 1, { conversationId: 'r3', timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: 'REQUEST_TIMEOUT',
    })
    await expect(client.request(uniqueName('nobody.Home'), 1, { conversationId: 'r4' })).rejects.toMatchObject({
      code: 'REQUEST_UNROUTABLE',
    })
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.request(`${responder}.Square`, i, { conversationId: 'r' })),
    )
    expect(many).toEqual(Array.from({ length: 50 }, (_, i) => i * i))
  })

  it('logs GELF to the bus under <service>.<LEVEL>', async () => {
    const name = serviceName()
    const bus = await peer()
    const logs = await logSpy(bus, name)
    const service = await run((o) => new TestService(name, {}, o))
    service.log('NOTICE', "I'm fine!", { conversationId: 'c-log', fields: { load: 0.5 } })
    const message = await logs.nth(1)
    expect(message.routingKey).toBe(`${name}.NOTICE`)
    expect(message.properties.contentType).toBeUndefined()
    expect(JSON.parse(message.body.toString())).toMatchObject({
      version: '1.1',
      short_message: "I'm fine!",
      level: 5,
      _levelname: 'NOTICE',
      _conversation_id: 'c-log',
      _logical_service: name,
      _worker_pid: process.pid,
      _load: 0.5,
    })
  })

  it('resumes consuming after a connection loss and calls onReady again', async () => {
    const name = serviceName()
    const event = uniqueName('Again')
    const bus = await peer()
    const handled: unknown[] = []
    const service = await run(
      (o) =>
        new TestService(
          name,
          { events: { [event]: (p) => void handled.push(p) } },
          { ...o, supervisor: { connectionName: `${name}-conn` } },
        ),
    )
    await closeConnections(`${name}-conn`)
    await waitFor(() => service.readyCalls === 2, 10_000)
    await send(bus, 'events', event, 'after', eventProperties('c'))
    await waitFor(() => handled.includes('after'))
    expect(service.state).toBe('ready')
  })

  it('does not send the output of a message whose connection died while it was handled: its redelivery does', async () => {
    const name = serviceName()
    const input = uniqueName('In')
    const output = uniqueName('Out')
    const bus = await peer()
    const outputs = await spy(bus, 'events', output)
    const calls: Array<{ redelivered: boolean; error?: string }> = []
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const service = await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              [input]: async (payload, ctx) => {
                const call: { redelivered: boolean; error?: string } = { redelivered: ctx.redelivered }
                calls.push(call)
                if (!ctx.redelivered) await held
                try {
                  await ctx.publishEvent(output, payload)
                } catch (error) {
                  call.error = (error as { code?: string }).code
                  throw error
                }
              },
            },
          },
          { ...o, supervisor: { connectionName: `${name}-conn` } },
        ),
    )
    await send(bus, 'events', input, 'once', eventProperties('conv-gone'))
    await waitFor(() => calls.length === 1, 5_000, 'the first delivery')
    expect(await closeConnections(`${name}-conn`)).toBe(1)
    await waitFor(() => service.readyCalls === 2, 10_000, 'the new connection')
    // the redelivery is handled while the first call still holds the old delivery
    await outputs.nth(1)
    release()
    await waitFor(() => calls[0]?.error !== undefined, 5_000, 'the first call to end')
    // a wrongly sent second output would come before this one, published after it
    await service.publishEvent(output, 'marker', { conversationId: 'conv-gone' })
    await outputs.nth(2)
    expect(calls).toEqual([{ redelivered: false, error: 'PUBLISH_CHANNEL_CLOSED' }, { redelivered: true }])
    expect(outputs.messages.map((m) => outputs.payload(m))).toEqual(['once', 'marker'])
    expect(
      service
        .stats()
        .inputs.map(({ received, acked, requeued, deadLettered, handlerErrors }) => [
          received,
          acked,
          requeued,
          deadLettered,
          handlerErrors,
        ]),
    ).toEqual([[2, 1, 0, 0, 0]])
  })

  it('relays a whole backlog across a forced reconnection: every output sent, no delivery left unacked', async () => {
    const name = serviceName()
    const input = uniqueName('Backlog')
    const output = uniqueName('Relayed')
    const bus = await peer()
    const outputs = await spy(bus, 'events', output)
    const count = 400
    let handled = 0
    const service = await run(
      (o) =>
        new TestService(
          name,
          {
            events: {
              [input]: async (payload, ctx) => {
                handled += 1
                await ctx.publishEvent(output, payload)
              },
            },
            // a second consumer: deliveries to the first arrive while the second is being set up
            commands: {
              [`${name}.Relay`]: async (payload, ctx) => {
                handled += 1
                await ctx.publishEvent(output, payload)
              },
            },
          },
          { ...o, prefetch: 50, supervisor: { connectionName: `${name}-conn` } },
        ),
    )
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        i % 2 === 0
          ? send(bus, 'events', input, i, eventProperties('conv-backlog'))
          : send(bus, 'commands', `${name}.Relay`, i, commandProperties('conv-backlog', `${name}.Nowhere`, `c-${i}`)),
      ),
    )
    await waitFor(() => handled >= 50, 10_000, 'handling under way')
    expect(await closeConnections(`${name}-conn`)).toBe(1)
    // deliveries of the new connection arrive while it is still being set up: they must not be
    // taken for deliveries of the lost one
    await waitFor(() => new Set(outputs.messages.map((m) => outputs.payload(m))).size === count, 20_000, 'every output')
    await waitFor(
      async () => (await unacked(`${name}.events`)) + (await unacked(`${name}.commands`)) === 0,
      10_000,
      'no delivery left unacked',
    )
    expect(service.state).toBe('ready')
  })

  it('runs callLater timers, survives their errors, and clears them on stop', async () => {
    const name = serviceName()
    const bus = await peer()
    const logs = await logSpy(bus, name)
    const service = await run((o) => new TestService(name, {}, o))
    const fired: string[] = []
    service.callLater(10, () => {
      fired.push('a')
      throw new Error('timer bug')
    })
    const cancelled = service.callLater(20, () => fired.push('cancelled'))
    service.cancelTimer(cancelled)
    service.callLater(60_000, () => fired.push('never'))
    await waitFor(() => logs.messages.length === 1)
    expect([fired, logs.levels()]).toEqual([['a'], ['ALERT']])
    await service.stop()
    expect(fired).toEqual(['a'])
  })
})

describe('Service.stop in every state', () => {
  async function timed(stop: () => Promise<void>): Promise<number> {
    const started = Date.now()
    await stop()
    return Date.now() - started
  }

  it('finishes consuming under load: the handlers in flight end and their outputs are confirmed, the rest stays queued', async () => {
    const name = serviceName()
    const event = uniqueName('Long')
    const outEvent = uniqueName('LongDone')
    const bus = await peer()
    const out = await spy(bus, 'events', outEvent)
    const logs = await logSpy(bus, name)
    const prefetch = 5
    const total = 30
    const handled: number[] = []
    let running = 0
    let peak = 0
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const make =
      (hold: boolean) =>
      (o: ServiceOptions): TestService =>
        new TestService(
          name,
          {
            events: {
              [event]: async (payload, ctx) => {
                running += 1
                peak = Math.max(peak, running)
                handled.push(payload as number)
                if (hold) await gate
                else await new Promise((resolve) => setImmediate(resolve))
                await ctx.publishEvent(outEvent, payload)
                running -= 1
                return undefined
              },
            },
          },
          { ...o, prefetch },
        )
    const first = await run(make(true))
    await Promise.all(Array.from({ length: total }, (_, i) => send(bus, 'events', event, i, eventProperties('c'))))
    await waitFor(() => running === prefetch, 10_000, 'prefetch handlers in flight')
    const stopping = first.stop()
    // the consumer is cancelled while its handlers still run; stop() waits for them
    await waitFor(async () => (await bus.checkQueue(`${name}.events`)).consumerCount === 0)
    expect(first.state).toBe('stopping')
    release()
    await stopping
    const stoppedFirst = handled.slice()
    expect([first.state, stoppedFirst.length, peak]).toEqual(['stopped', prefetch, prefetch])
    await waitFor(() => out.messages.length === prefetch)
    expect(out.messages.map((m) => out.payload(m)).sort((a, b) => Number(a) - Number(b))).toEqual(
      stoppedFirst.slice().sort((a, b) => a - b),
    )
    expect([await unacked(`${name}.events`), (await bus.checkQueue(`${name}.events`)).messageCount]).toEqual([
      0,
      total - prefetch,
    ])
    await waitFor(() => logs.levels().includes('WARNING'))
    expect(logs.logs().find((l) => l._levelname === 'WARNING')?.short_message).toBe('Shutting down…')

    // a second instance takes the rest: each message handled, and relayed, exactly once
    peak = 0
    await run(make(false))
    await waitFor(() => out.messages.length === total, 20_000, 'every output')
    const all = Array.from({ length: total }, (_, i) => i)
    expect(handled.slice().sort((a, b) => a - b)).toEqual(all)
    expect(out.messages.map((m) => Number(out.payload(m))).sort((a, b) => a - b)).toEqual(all)
    expect(peak).toBeLessThanOrEqual(prefetch)
    await waitFor(async () => (await unacked(`${name}.events`)) === 0)
    expect((await bus.checkQueue(`${name}.events`)).messageCount).toBe(0)
  })

  it('finishes unconfigured, configuration-only, publish-only, reconnecting and never-started services', async () => {
    const unconfigured = await run(
      (o) => new TestService(serviceName(), { events: { X: () => undefined }, configurations: { C: () => false } }, o),
    )
    const configOnly = await run((o) => new TestService(serviceName(), { configurations: { C: () => false } }, o))
    const publishOnly = await run((o) => new TestService(serviceName(), {}, o))
    const publish = publishOnly.publishEvent(uniqueName('Nobody'), 1, { conversationId: 'c' })
    let failedOnce: () => void = () => {}
    const firstFailure = new Promise<void>((resolve) => {
      failedOnce = resolve
    })
    const reconnecting = new TestService(
      serviceName(),
      { events: { X: () => undefined } },
      {
        urls: 'amqp://guest:guest@127.0.0.1:1/',
        handleSignals: false,
        supervisorFactory: (options) => createSupervisor(options).once('reconnecting', () => failedOnce()),
      },
    )
    const starting = reconnecting.start()
    await firstFailure
    const never = new TestService(serviceName(), {}, { urls: url, handleSignals: false })
    const times = {
      unconfigured: await timed(() => unconfigured.stop()),
      configOnly: await timed(() => configOnly.stop()),
      publishOnly: await timed(() => publishOnly.stop()),
      reconnecting: await timed(() => reconnecting.stop()),
      never: await timed(() => never.stop()),
    }
    await expect(publish).resolves.toBeUndefined()
    await expect(starting).resolves.toBeUndefined()
    for (const s of [unconfigured, configOnly, publishOnly, reconnecting, never]) expect(s.state).toBe('stopped')
    for (const ms of Object.values(times)) expect(ms).toBeLessThan(2_000)
  })
})
