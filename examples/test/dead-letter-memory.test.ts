// A failing handler on the in-memory bus (@am/testing): requeued once, then dead-lettered.
import { startService } from '@am/testing'
import { describe, expect, it } from 'vitest'
import { StrictRelay } from './strict-relay.js'

describe('a failing handler on the memory bus', () => {
  it('is retried once, then its message ends in the dead-letter queue: ALERT, ALERT, EMERGENCY', async () => {
    await using h = await startService(StrictRelay)
    const { outcome, logs, deadLetters, events } = await h.publishEvent('OrderPlaced', { orderId: 'B-1' })
    expect({
      outcome,
      events: events.length,
      logs: logs.map((l) => [l.level, l.shortMessage]),
      stack: logs[0]?.fullMessage.split('\n')[0],
      dead: deadLetters.map((d) => ({
        queue: d.queue,
        payload: d.payload,
        deaths: d.deaths.map((x) => [x.count, x.reason, x.queue, x.exchange]),
      })),
      dlq: h.broker
        .queue('dead_letters')
        ?.messages.map((m) => [m.routingKey, m.properties.headers?.['x-first-death-queue']]),
    }).toEqual({
      outcome: 'dead-lettered',
      events: 0,
      logs: [
        ['ALERT', 'Unhandled error while processing message OrderPlaced'],
        ['ALERT', 'Unhandled error while processing message OrderPlaced'],
        ['EMERGENCY', 'Giving up on OrderPlaced'],
      ],
      stack: 'Error: order B-1 has no total',
      dead: [
        {
          queue: 'strict-relay.events',
          payload: { orderId: 'B-1' },
          deaths: [[1, 'rejected', 'strict-relay.events', 'events']],
        },
      ],
      dlq: [['OrderPlaced', 'strict-relay.events']],
    })
  })

  it('handles a good order normally meanwhile', async () => {
    await using h = await startService(StrictRelay)
    const { outcome, events } = await h.publishEvent('OrderPlaced', { orderId: 'B-2', total: 5 })
    expect([outcome, events.map((e) => e.payload)]).toEqual([
      'acked',
      [{ orderId: 'B-2', total: 5, relayedBy: 'strict-relay' }],
    ])
  })
})
