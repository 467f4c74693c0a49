import { describe, expect, it } from 'vitest'
import { Delays, within } from '../src/timers.js'

const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

describe('within', () => {
  it('clears its timer when the work rejects', async () => {
    const before = timeouts()
    await expect(within(Promise.reject(new Error('work failed')), 600_000)).rejects.toThrow('work failed')
    expect(timeouts()).toBe(before)
  })

  it('clears its timer when the work ends first', async () => {
    const before = timeouts()
    await within(Promise.resolve(), 600_000)
    expect(timeouts()).toBe(before)
  })
})

describe('Delays', () => {
  it('ends running and later waits with false once cancelled, leaving no timer', async () => {
    const delays = new Delays()
    const before = timeouts()
    const running = delays.wait(600_000)
    expect([delays.size, timeouts()]).toEqual([1, before + 1])
    delays.cancelAll()
    expect([await running, await delays.wait(600_000), delays.size, timeouts()]).toEqual([false, false, 0, before])
  })

  it('ends a wait with true after its delay', async () => {
    expect(await new Delays().wait(1)).toBe(true)
  })
})
