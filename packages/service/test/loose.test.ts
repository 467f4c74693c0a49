import { PublishError } from '@am/bus-core'
import { describe, expect, it } from 'vitest'
import { LoosePublishes } from '../src/loose.js'
import type { Sent } from '../src/outputs.js'

/** A publish whose result the test decides. */
function publish(): { sent: Promise<Sent>; end: (result: Sent) => Promise<void> } {
  let settle: (result: Sent) => void = () => {}
  const sent = new Promise<Sent>((resolve) => {
    settle = resolve
  })
  // the tracker sees the result one turn after it settles
  return { sent, end: async (result) => settle(result) }
}

const confirmed: Sent = { status: 'confirmed' }
const nacked = (what: string): Sent => ({ status: 'nacked', error: new PublishError('PUBLISH_NACKED', what) })
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('LoosePublishes', () => {
  it('returns undefined, and no promise, when nothing is unsettled at the start or at the finish', () => {
    const loose = new LoosePublishes()
    expect(loose.watch()()).toBeUndefined()
  })

  it('gives the failures of the publishes unsettled at the start, not the confirmed ones', async () => {
    const loose = new LoosePublishes()
    const a = publish()
    const b = publish()
    loose.track(a.sent)
    loose.track(b.sent)
    const finish = loose.watch()
    const failed = nacked('a')
    await a.end(failed)
    await b.end(confirmed)
    await tick()
    expect(await finish()).toEqual([failed])
  })

  it('leaves out a publish made and settled between the start and the finish', async () => {
    const loose = new LoosePublishes()
    const held = publish()
    loose.track(held.sent)
    const finish = loose.watch()
    const between = publish()
    loose.track(between.sent)
    await between.end(nacked('between'))
    await held.end(confirmed)
    await tick()
    expect(await finish()).toEqual([])
  })

  it('waits for the publishes unsettled at the finish, not for those made later, and gives their failures', async () => {
    const loose = new LoosePublishes()
    const finish = loose.watch()
    const during = publish()
    loose.track(during.sent)
    let done = false
    const results = finish()?.then((r) => {
      done = true
      return r
    })
    expect(results).toBeDefined()
    const later = publish()
    loose.track(later.sent)
    await tick()
    expect(done).toBe(false)
    const failed = nacked('during')
    await during.end(failed)
    expect(await results).toEqual([failed])
    await later.end(confirmed)
  })

  it('gives a publish unsettled at both ends once per end, start first, as the settlement rule reads them', async () => {
    const loose = new LoosePublishes()
    const a = publish()
    loose.track(a.sent)
    const finish = loose.watch()
    const pending = finish()
    const failed = nacked('a')
    await a.end(failed)
    expect(await pending).toEqual([failed, failed])
  })
})
