import { describe, expect, it } from 'vitest'
import { Backoff } from '../src/backoff.js'

describe('Backoff', () => {
  it('starts at the initial delay and doubles up to the cap', () => {
    const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 }, () => 0)
    expect(Array.from({ length: 6 }, () => backoff.next())).toEqual([100, 200, 400, 800, 1000, 1000])
  })

  it('takes up to the jitter share off each delay', () => {
    const backoff = new Backoff({ initialDelayMs: 100, jitter: 0.5 }, () => 1)
    expect(backoff.next()).toBe(50)
  })

  it('starts over after a reset', () => {
    const backoff = new Backoff({ initialDelayMs: 100 }, () => 0)
    backoff.next()
    backoff.next()
    backoff.reset()
    expect([backoff.attempts, backoff.next()]).toEqual([0, 100])
  })

  it('defaults to a first retry within 100 ms and a 30 s cap', () => {
    const backoff = new Backoff({}, () => 0)
    const delays = Array.from({ length: 20 }, () => backoff.next())
    expect([delays[0], Math.max(...delays)]).toEqual([100, 30_000])
  })
})
