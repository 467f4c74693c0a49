// The batching view counter on the in-memory bus (@am/testing), on fake time: no broker needed.
import { createHarness, startService } from '@am/testing'
import { describe, expect, it } from 'vitest'
import { BATCH_SIZE, BATCH_WAIT_MS, Site, ViewCounter } from '../src/page-views.js'

describe('ViewCounter on the memory bus', () => {
  it('counts a batch BATCH_WAIT_MS after its first view, not a millisecond earlier', async () => {
    await using h = createHarness({ fakeTime: true })
    const counter = await h.start(ViewCounter)
    const publishing = ['/', '/docs', '/'].map((page) => h.publishEvent('PageViewed', { page }))
    // Handed to the batch (delivered is not enough: the handler may not have run yet).
    await h.waitFor(() => counter.stats().inputs[0]?.received === 3)
    await h.clock.advance(BATCH_WAIT_MS - 1)
    expect([counter.batches, h.published.filter((m) => m.routingKey === 'PageViewsCounted')]).toEqual([[], []])
    await h.clock.advance(1)
    const outcomes = (await Promise.all(publishing)).map((r) => r.outcome)
    expect({
      outcomes,
      batches: counter.batches,
      summaries: h.published.filter((m) => m.routingKey === 'PageViewsCounted').map((m) => m.payload),
      left: h.broker.queue('view-counter.events')?.unacked,
    }).toEqual({
      outcomes: ['acked', 'acked', 'acked'],
      batches: [3],
      summaries: [{ views: 3, pages: { '/': 2, '/docs': 1 } }],
      left: 0,
    })
  })

  it('counts a full batch at once, without waiting', async () => {
    await using h = createHarness({ fakeTime: true })
    const counter = await h.start(ViewCounter)
    const site = await h.start(Site)
    for (let i = 0; i < BATCH_SIZE + 1; i++) await site.view(i % 2 === 0 ? '/' : '/pricing')
    await h.waitFor(() => counter.batches.length === 1 && counter.stats().inputs[0]?.received === BATCH_SIZE + 1)
    expect([counter.batches, Object.fromEntries(counter.totals)]).toEqual([[BATCH_SIZE], { '/': 50, '/pricing': 50 }])
    await h.clock.advance(BATCH_WAIT_MS)
    await h.waitFor(() => h.broker.queue('view-counter.events')?.unacked === 0)
    expect([counter.batches, Object.fromEntries(counter.totals)]).toEqual([
      [BATCH_SIZE, 1],
      { '/': 51, '/pricing': 50 },
    ])
  })

  it('refuses to start with a prefetch below the batch size', async () => {
    await expect(startService(ViewCounter, { service: { prefetch: 10 } })).rejects.toMatchObject({
      code: 'BATCH_PREFETCH_TOO_LOW',
    })
  })
})
