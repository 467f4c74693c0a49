import { createSupervisor, type Delivery } from '@am/bus-core'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  commandProperties,
  eventProperties,
  type Handlers,
  type MessageContext,
  RETRY_HEADERS,
  resultProperties,
  ServiceError,
  type ServiceOptions,
  waitQueueName,
} from '../src/index.js'
import {
  cleanupQueues,
  deadLetters,
  logSpy,
  peer,
  run,
  send,
  spy,
  TableService,
  uniqueName,
  url,
  waitFor,
} from './helpers.js'

function serviceName(): string {
  return uniqueName('retry').replace(/[^a-zA-Z0-9-]/g, '-')
}

/** Deletes a service's queues, wait queues and their exchanges after the test. */
function cleanup(name: string, waits: Array<['events' | 'commands', number]>): void {
  cleanupQueues(name)
  onTestFinished(async () => {
    const bus = createSupervisor({ urls: url })
    await bus
      .withChannel(async (channel) => {
        for (const [origin, delay] of waits) {
          await channel.deleteQueue(waitQueueName(name, origin, delay))
          await channel.deleteExchange(waitQueueName(name, origin, delay))
        }
      })
      .catch(() => undefined)
    await bus.destroy()
  })
}

interface Attempt {
  at: number
  routingKey: string
  kind: string
  attemptHeader: unknown
  correlationId: string
  replyTo: string
  conversationId: string
}

function record(attempts: Attempt[], ctx: MessageContext): void {
  attempts.push({
    at: performance.now(),
    routingKey: ctx.routingKey,
    kind: ctx.kind,
    attemptHeader: ctx.headers[RETRY_HEADERS.attempt],
    correlationId: ctx.correlationId,
    replyTo: ctx.replyTo,
    conversationId: ctx.conversationId,
  })
}

const start = (name: string, table: Handlers, options: Partial<ServiceOptions>) =>
  run((o) => new TableService(name, table, o), options)

describe.each(['classic', 'quorum'] as const)('delayed retries on %s queues', (queueType) => {
  it('retries a failing event after each delay, under its original routing key, until it succeeds', async () => {
    const name = serviceName()
    const event = uniqueName('Flaky')
    cleanup(name, [
      ['events', 200],
      ['events', 500],
    ])
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const attempts: Attempt[] = []
    await start(
      name,
      {
        events: {
          [event]: (_p, ctx) => {
            record(attempts, ctx)
            if (attempts.length < 3) throw new Error(`down ${attempts.length}`)
          },
        },
      },
      { queueType, retry: { delaysMs: [200, 500] } },
    )
    const sent = performance.now()
    await send(bus, 'events', event, { n: 1 }, eventProperties('conv-retry'))
    await waitFor(() => attempts.length >= 3, 20_000, 'three attempts')
    expect(attempts.map((a) => [a.routingKey, a.kind, a.attemptHeader, a.conversationId])).toEqual([
      [event, 'event', undefined, 'conv-retry'],
      [event, 'event', 1, 'conv-retry'],
      [event, 'event', 2, 'conv-retry'],
    ])
    // A TTL never expires early: each wait lasts at least its delay.
    const [a1, a2, a3] = attempts as [Attempt, Attempt, Attempt]
    expect(a1.at >= sent).toBe(true)
    expect(a2.at - a1.at).toBeGreaterThanOrEqual(190)
    expect(a3.at - a2.at).toBeGreaterThanOrEqual(490)
    // Acked at last: nothing waits, nothing was dead-lettered.
    await waitFor(async () => (await bus.checkQueue(`${name}.events`)).messageCount === 0, 10_000, 'empty queue')
    for (const delay of [200, 500]) {
      expect((await bus.checkQueue(waitQueueName(name, 'events', delay))).messageCount).toBe(0)
    }
    expect(dead.messages).toHaveLength(0)
  })

  it('dead-letters after the last delay with every attempt’s error in one EMERGENCY log', async () => {
    const name = serviceName()
    const event = uniqueName('Broken')
    cleanup(name, [['events', 200]])
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    let calls = 0
    await start(
      name,
      {
        events: {
          [event]: () => {
            calls += 1
            throw new Error(`boom ${calls}`)
          },
        },
      },
      { queueType, retry: { delaysMs: [200, 200] } },
    )
    await send(bus, 'events', event, { n: 2 }, eventProperties('conv-dead'))
    const letter = await dead.nth(1, 20_000)
    expect(calls).toBe(3)
    await waitFor(() => logs.levels().includes('EMERGENCY'), 10_000, 'the EMERGENCY log')
    const emergency = logs.logs()[logs.levels().indexOf('EMERGENCY')]
    expect(emergency).toMatchObject({
      short_message: `Giving up on ${event} after 3 attempts`,
      _conversation_id: 'conv-dead',
    })
    expect(String(emergency?.full_message).split('\n').slice(0, 3)).toEqual([
      'attempt 1: Error: boom 1',
      'attempt 2: Error: boom 2',
      'attempt 3: Error: boom 3',
    ])
    expect(logs.levels().filter((l) => l === 'ALERT')).toHaveLength(3)
    // Dead-lettered as today: rejected from the service queue, its history in x-death.
    const deaths = letter.headers['x-death'] as Array<Record<string, unknown>>
    expect(deaths.map((d) => [d.queue, d.reason, Number(d.count)])).toEqual([
      [`${name}.events`, 'rejected', 1],
      [waitQueueName(name, 'events', 200), 'expired', 2],
    ])
    expect(deaths[1]?.['routing-keys']).toEqual([event])
    expect(letter.headers[RETRY_HEADERS.attempt]).toBe(2)
    expect(dead.payload(letter)).toEqual({ n: 2 })
    expect(dead.messages).toHaveLength(1)
  })
})

describe('a message dead-lettered after its retries', () => {
  it('replayed straight into its queue (am-resurrect --to-queue), is handled under its original key', async () => {
    const name = serviceName()
    const event = uniqueName('Replayed')
    cleanup(name, [['events', 200]])
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    let fixed = false
    const handled: string[] = []
    await start(
      name,
      {
        events: {
          [event]: (_p, ctx) => {
            if (!fixed) throw new Error('bug')
            handled.push(ctx.routingKey)
          },
        },
      },
      { retry: { delaysMs: [200] } },
    )
    await send(bus, 'events', event, { n: 3 }, eventProperties('conv-replay'))
    const letter = await dead.nth(1, 20_000)
    fixed = true
    await bus.publish('', `${name}.events`, letter.body, {
      headers: letter.headers,
      contentType: letter.properties.contentType,
      deliveryMode: 2,
    })
    await waitFor(() => handled.length === 1, 10_000, 'the replay handled')
    expect(handled).toEqual([event])
  })
})

describe('delayed retries of commands and results', () => {
  it('keeps a command’s reply-to, correlation id and conversation id', async () => {
    const name = serviceName()
    const replyKey = `${uniqueName('caller')}.Done`
    cleanup(name, [['commands', 200]])
    const bus = await peer()
    const results = await spy(bus, 'commands', replyKey)
    const attempts: Attempt[] = []
    await start(
      name,
      {
        commands: {
          [`${name}.Do`]: (payload, ctx) => {
            record(attempts, ctx)
            if (attempts.length === 1) throw new Error('dependency down')
            void ctx.returnSuccess({ done: payload })
          },
        },
      },
      { retry: { delaysMs: [200] } },
    )
    await send(bus, 'commands', `${name}.Do`, 7, commandProperties('conv-cmd', replyKey, 'corr-42'))
    const result: Delivery = await results.nth(1, 20_000)
    expect(attempts.map((a) => [a.routingKey, a.kind, a.replyTo, a.correlationId, a.conversationId])).toEqual([
      [`${name}.Do`, 'command', replyKey, 'corr-42', 'conv-cmd'],
      [`${name}.Do`, 'command', replyKey, 'corr-42', 'conv-cmd'],
    ])
    expect({
      correlationId: result.properties.correlationId,
      status: String(result.headers.status),
      conversation: String(result.headers.conversation_id),
      payload: results.payload(result),
    }).toEqual({ correlationId: 'corr-42', status: 'success', conversation: 'conv-cmd', payload: { done: 7 } })
    expect(results.messages).toHaveLength(1)
  })

  it('retries a result as a result, with its status', async () => {
    const name = serviceName()
    const key = `${name}.Answered`
    cleanup(name, [['commands', 200]])
    const bus = await peer()
    const attempts: Array<{ kind: string; status: string }> = []
    await start(
      name,
      {
        results: {
          [key]: (_p, ctx) => {
            attempts.push({ kind: ctx.kind, status: ctx.status })
            if (attempts.length === 1) throw new Error('not yet')
          },
        },
      },
      { retry: { delaysMs: [200] } },
    )
    await send(bus, 'commands', key, 'answer', resultProperties('conv-res', 'error', 'corr-1'))
    await waitFor(() => attempts.length >= 2, 20_000, 'two attempts')
    expect(attempts).toEqual([
      { kind: 'result', status: 'error' },
      { kind: 'result', status: 'error' },
    ])
  })
})

describe('retry options', () => {
  it('a per-key override of false keeps the immediate requeue-once; other keys wait', async () => {
    const name = serviceName()
    const plain = uniqueName('Plain')
    const delayed = uniqueName('Delayed')
    cleanup(name, [['events', 300]])
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const seen: Array<[string, boolean, unknown]> = []
    await start(
      name,
      {
        events: {
          [plain]: (_p, ctx) => {
            seen.push([plain, ctx.redelivered, ctx.headers[RETRY_HEADERS.attempt]])
            throw new Error('always')
          },
          [delayed]: (_p, ctx) => {
            seen.push([delayed, ctx.redelivered, ctx.headers[RETRY_HEADERS.attempt]])
            if (ctx.headers[RETRY_HEADERS.attempt] === undefined) throw new Error('once')
          },
        },
      },
      { retry: { delaysMs: [300], handlers: { events: { [plain]: false } } } },
    )
    await send(bus, 'events', plain, 1, eventProperties('c1'))
    await send(bus, 'events', delayed, 2, eventProperties('c2'))
    await dead.nth(1, 20_000)
    await waitFor(() => seen.filter(([k]) => k === delayed).length >= 2, 20_000, 'the delayed retry')
    expect(seen.filter(([k]) => k === plain)).toEqual([
      [plain, false, undefined],
      [plain, true, undefined],
    ])
    expect(seen.filter(([k]) => k === delayed)).toEqual([
      [delayed, false, undefined],
      [delayed, false, 1],
    ])
    expect(dead.messages.map((d) => d.routingKey)).toEqual([plain])
  })

  it('refuses to start with an override of a key the table does not have, or a bad delay', async () => {
    const name = serviceName()
    const make = (retry: ServiceOptions['retry']) =>
      new TableService(name, { events: { Known: () => undefined } }, { urls: url, handleSignals: false, retry })
    for (const retry of [
      { delaysMs: [100], handlers: { events: { Unknown: false as const } } },
      { delaysMs: [0] },
      { delaysMs: [1.5] },
    ]) {
      const service = make(retry)
      const error = await service.start().then(
        () => undefined,
        (e: unknown) => e,
      )
      await service.stop()
      expect(error).toBeInstanceOf(ServiceError)
      expect((error as ServiceError).code).toBe('SERVICE_INVALID')
    }
  })
})
