import { type Handlers, Service, type ServiceOptions } from '@am/service'
import { describe, expect, it, vi } from 'vitest'
import { createHarness, startService, TestingError } from '../src/index.js'

/** Echoes commands, relays events, fails on demand, ticks with callLater. */
class Echo extends Service {
  readonly name = 'echo'
  readonly seen: string[] = []
  ticks = 0

  protected handlers(): Handlers {
    return {
      commands: {
        'echo.Say': (payload, ctx) => ctx.returnSuccess({ said: payload }),
        'echo.Refuse': (_payload, ctx) => ctx.returnError({ reason: 'no' }),
        'echo.Crash': () => {
          throw new Error('boom')
        },
      },
      events: {
        'Order.*': async (payload, ctx) => {
          this.seen.push(ctx.routingKey)
          await ctx.publishEvent('OrderSeen', { order: payload })
        },
        Poison: () => {
          throw new Error('cannot handle this')
        },
      },
    }
  }

  protected override onReady(): void {
    this.callLater(1_000, () => {
      this.ticks += 1
      this.log('NOTICE', 'tick')
    })
  }
}

describe('harness', () => {
  it('sends a command and resolves with its result', async () => {
    await using h = await startService(Echo)
    const result = await h.sendCommand('echo.Say', { hello: 'world' }, { conversationId: 'conv-1' })
    expect({ status: result.status, payload: result.payload, conversationId: result.conversationId }).toEqual({
      status: 'success',
      payload: { said: { hello: 'world' } },
      conversationId: 'conv-1',
    })
    expect((await h.sendCommand('echo.Refuse', null)).status).toBe('error')
  })

  it('rejects a command nobody serves with COMMAND_UNROUTABLE', async () => {
    await using h = await startService(Echo)
    const error = await h.sendCommand('other.Thing', {}).catch((e: unknown) => e)
    expect([error instanceof TestingError, (error as TestingError).code]).toEqual([true, 'COMMAND_UNROUTABLE'])
  })

  it('publishes an event and resolves, once acked, with what the service emitted in the conversation', async () => {
    await using h = await startService(Echo)
    const result = await h.publishEvent('Order.Placed', { id: 1 })
    expect({
      outcome: result.outcome,
      events: result.events.map((e) => [e.routingKey, e.payload, e.conversationId === result.conversationId]),
      seen: h.service.seen,
      published: h.published.map((m) => `${m.kind} ${m.routingKey}`),
    }).toEqual({
      outcome: 'acked',
      events: [['OrderSeen', { order: { id: 1 } }, true]],
      seen: ['Order.Placed'],
      published: ['event Order.Placed', 'event OrderSeen'],
    })
  })

  it('dead-letters a failing handler after one requeue, with ALERT, ALERT, EMERGENCY and x-death', async () => {
    await using h = await startService(Echo)
    const result = await h.publishEvent('Poison', { bad: true })
    expect({
      outcome: result.outcome,
      levels: result.logs.map((l) => `${l.level} ${l.shortMessage}`),
      dead: result.deadLetters.map((d) => ({
        queue: d.queue,
        routingKey: d.routingKey,
        payload: d.payload,
        deaths: d.deaths.map(({ time: _time, ...rest }) => rest),
      })),
      inQueue: h.broker.queue('dead_letters')?.messages.length,
    }).toEqual({
      outcome: 'dead-lettered',
      levels: [
        'ALERT Unhandled error while processing message Poison',
        'ALERT Unhandled error while processing message Poison',
        'EMERGENCY Giving up on Poison',
      ],
      dead: [
        {
          queue: 'echo.events',
          routingKey: 'Poison',
          payload: { bad: true },
          deaths: [{ count: 1, reason: 'rejected', queue: 'echo.events', exchange: 'events', routingKeys: ['Poison'] }],
        },
      ],
      inQueue: 1,
    })
  })

  it('lets a service re-publish a nacked output, then acks its input', async () => {
    await using h = await startService(Echo, { service: { nackRetryDelaysMs: [5] } })
    h.broker.failNextPublish({ routingKey: 'OrderSeen' })
    const result = await h.publishEvent('Order.Placed', { id: 2 })
    expect({ outcome: result.outcome, events: result.events.length }).toEqual({ outcome: 'acked', events: 1 })
  })

  it('recovers after the connections drop: the service consumes again', async () => {
    await using h = await startService(Echo)
    const states: string[] = []
    h.service.on('state', (s) => states.push(s))
    expect(h.broker.dropConnections({ name: 'echo' })).toBe(1)
    await h.waitFor(() => h.service.state === 'ready')
    const result = await h.publishEvent('Order.Again', {})
    expect({ states, outcome: result.outcome, generation: h.service.supervisor?.generation }).toEqual({
      states: ['reconnecting', 'ready'],
      outcome: 'acked',
      generation: 2,
    })
  })

  it('dead-letters the input whose awaited result is unroutable, with one ERROR log', async () => {
    await using h = await startService(Echo)
    h.broker.makeUnroutable('echo.reply')
    // a peer whose reply key nobody binds
    const body = Buffer.from(JSON.stringify('hi'))
    h.broker.publish('commands', 'echo.Say', body, {
      contentType: 'application/json',
      headers: { conversation_id: 'c-unroutable' },
      replyTo: 'echo.reply',
      correlationId: 'x',
      persistent: true,
    })
    await h.waitFor(() => h.deadLetters.length === 1)
    // the handler returned the rejected returnSuccess promise: the returned path, not a handler failure
    expect(h.conversation('c-unroutable').logs.map((l) => l.level)).toEqual(['ERROR'])
  })

  it('advances fake time for callLater timers', async () => {
    await using h = await startService(Echo, { fakeTime: true })
    await h.clock.advance(999)
    const before = h.service.ticks
    await h.clock.advance(1)
    expect({ before, after: h.service.ticks, logs: h.logs.map((l) => l.shortMessage) }).toEqual({
      before: 0,
      after: 1,
      logs: ['tick'],
    })
  })

  it('confirms late with slowConfirms, and the input still waits for its output', async () => {
    await using h = await startService(Echo)
    h.broker.slowConfirms(30)
    const started = Date.now()
    const result = await h.publishEvent('Order.Slow', {})
    expect({ outcome: result.outcome, slow: Date.now() - started >= 30 }).toEqual({ outcome: 'acked', slow: true })
  })

  it('refuses a service built without harness.serviceOptions()', async () => {
    await using h = createHarness()
    const service = new Echo({ urls: 'amqp://127.0.0.1:1', handleSignals: false } as ServiceOptions)
    const error = await h.start(service).catch((e: unknown) => e)
    expect((error as TestingError).code).toBe('HARNESS_NOT_MEMORY')
  })

  it('works with vitest fake timers too: the bus keeps its real timers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      await using h = await startService(Echo)
      const result = await h.sendCommand('echo.Say', 1)
      await vi.advanceTimersByTimeAsync(1_000)
      await h.idle()
      expect([result.status, h.service.ticks]).toEqual(['success', 1])
    } finally {
      vi.useRealTimers()
    }
  })

  it('lets supervisors retry while the broker is offline, and recover when it is back', async () => {
    await using h = await startService(Echo)
    h.broker.reconnectDelayMs = 5
    h.broker.setOffline(true)
    await h.waitFor(() => (h.service.supervisor?.stats().reconnections ?? 0) >= 1)
    const whileDown = h.service.state
    h.broker.setOffline(false)
    await h.waitFor(() => h.service.state === 'ready')
    expect([whileDown, (await h.publishEvent('Order.Back', {})).outcome]).toEqual(['reconnecting', 'acked'])
  })
})
