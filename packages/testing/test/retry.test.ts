import { type Handlers, RETRY_HEADERS, Service, waitQueueName } from '@am/service'
import { describe, expect, it } from 'vitest'
import { startService } from '../src/index.js'

/** Charges cards through a dependency that is down until `up` is set. */
class Billing extends Service {
  readonly name = 'billing'
  up = false
  readonly attempts: Array<{ key: string; attempt: unknown }> = []

  protected handlers(): Handlers {
    return {
      events: {
        OrderPlaced: async (payload, ctx) => {
          this.attempts.push({ key: ctx.routingKey, attempt: ctx.headers[RETRY_HEADERS.attempt] })
          if (!this.up) throw new Error('payment gateway unreachable')
          await ctx.publishEvent('OrderCharged', { order: payload })
        },
      },
      commands: {
        'billing.Refund': (payload, ctx) => {
          this.attempts.push({ key: ctx.routingKey, attempt: ctx.headers[RETRY_HEADERS.attempt] })
          if (!this.up) throw new Error('payment gateway unreachable')
          return ctx.returnSuccess({ refunded: payload })
        },
      },
    }
  }
}

const retry = { delaysMs: [1_000, 60_000] }

describe('delayed retries on the memory broker, with fake time', () => {
  it('waits in the wait queue for each delay of the fake clock, then succeeds', async () => {
    await using h = await startService(Billing, { fakeTime: true, service: { retry } })
    const first = await h.publishEvent('OrderPlaced', { id: 'A-1' }, { conversationId: 'conv-a' })
    const wait1 = waitQueueName('billing', 'events', 1_000)
    expect({
      outcome: first.outcome,
      attempts: h.service.attempts.length,
      waiting: h.broker.queue(wait1)?.messages.length,
      deadLetters: h.deadLetters.length,
    }).toEqual({ outcome: 'retrying', attempts: 1, waiting: 1, deadLetters: 0 })
    await h.clock.advance(999)
    expect(h.service.attempts).toHaveLength(1)
    await h.clock.advance(1)
    expect(h.service.attempts).toHaveLength(2)
    expect(h.broker.queue(waitQueueName('billing', 'events', 60_000))?.messages.length).toBe(1)
    h.service.up = true
    await h.clock.advance(60_000)
    expect(h.service.attempts).toEqual([
      { key: 'OrderPlaced', attempt: undefined },
      { key: 'OrderPlaced', attempt: 1 },
      { key: 'OrderPlaced', attempt: 2 },
    ])
    const outputs = h.conversation('conv-a')
    expect({
      charged: outputs.events.map((e) => [e.routingKey, e.payload]),
      deadLetters: h.deadLetters.length,
      alerts: outputs.logs.map((l) => l.level),
    }).toEqual({
      charged: [['OrderCharged', { order: { id: 'A-1' } }]],
      deadLetters: 0,
      alerts: ['ALERT', 'ALERT'],
    })
  })

  it('dead-letters after the last delay, with every attempt in the EMERGENCY log', async () => {
    await using h = await startService(Billing, { fakeTime: true, service: { retry } })
    await h.publishEvent('OrderPlaced', { id: 'B-2' }, { conversationId: 'conv-b' })
    await h.clock.advance(61_000)
    const { deadLetters, logs } = h.conversation('conv-b')
    expect(h.service.attempts).toHaveLength(3)
    expect(deadLetters.map((d) => [d.queue, d.reason, d.routingKey, d.payload])).toEqual([
      ['billing.events', 'rejected', 'billing.events', { id: 'B-2' }],
    ])
    // Its history: two expiries (wait queues), then the rejection; its original key kept in x-death.
    expect(deadLetters[0]?.deaths.map((d) => [d.queue, d.reason, d.routingKeys])).toEqual([
      ['billing.events', 'rejected', ['billing.events']],
      [waitQueueName('billing', 'events', 60_000), 'expired', ['OrderPlaced']],
      [waitQueueName('billing', 'events', 1_000), 'expired', ['OrderPlaced']],
    ])
    const emergency = logs.find((l) => l.level === 'EMERGENCY')
    expect(emergency?.shortMessage).toBe('Giving up on OrderPlaced after 3 attempts')
    expect(emergency?.fullMessage.split('\n').slice(0, 3)).toEqual([
      'attempt 1: Error: payment gateway unreachable',
      'attempt 2: Error: payment gateway unreachable',
      'attempt 3: Error: payment gateway unreachable',
    ])
  })

  it('retries a command and its result reaches the caller with its correlation id', async () => {
    await using h = await startService(Billing, { fakeTime: true, service: { retry } })
    const pending = h.sendCommand('billing.Refund', 12, { conversationId: 'conv-c', timeoutMs: 10_000 })
    await h.waitFor(() => h.broker.queue(waitQueueName('billing', 'commands', 1_000))?.messages.length === 1)
    h.service.up = true
    await h.clock.advance(1_000)
    const result = await pending
    expect({ status: result.status, payload: result.payload, attempts: h.service.attempts.length }).toEqual({
      status: 'success',
      payload: { refunded: 12 },
      attempts: 2,
    })
  })

  it('keeps the immediate requeue-once without the retry option', async () => {
    await using h = await startService(Billing, { fakeTime: true })
    const { outcome } = await h.publishEvent('OrderPlaced', { id: 'D-4' })
    expect({ outcome, attempts: h.service.attempts.map((a) => a.attempt), queues: h.broker.queueNames() }).toEqual({
      outcome: 'dead-lettered',
      attempts: [undefined, undefined],
      queues: expect.not.arrayContaining([waitQueueName('billing', 'events', 1_000)]),
    })
  })
})
