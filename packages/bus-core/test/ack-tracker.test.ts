import { describe, expect, it } from 'vitest'
import { AckTracker } from '../src/ack-tracker.js'
import { silentLogger } from '../src/logger.js'
import { realTimers } from '../src/transport.js'

type Frame = [op: 'ack' | 'nack', tag: number, multiple: boolean, requeue?: boolean]

function fakeChannel() {
  const frames: Frame[] = []
  return {
    frames,
    ack: (deliveryTag: number, multiple: boolean) => {
      frames.push(['ack', deliveryTag, multiple])
    },
    nack: (deliveryTag: number, multiple: boolean, requeue: boolean) => {
      frames.push(['nack', deliveryTag, multiple, requeue])
    },
  }
}

function tracker(tags: number[]) {
  const channel = fakeChannel()
  const acks = new AckTracker(channel, 1, silentLogger, realTimers)
  for (const tag of tags) acks.track(tag)
  return { acks, frames: channel.frames }
}

describe('AckTracker', () => {
  it('coalesces a contiguous run of acks from the low end into one multiple ack', () => {
    const { acks, frames } = tracker([1, 2, 3, 4])
    acks.ack(2)
    acks.ack(1)
    acks.ack(3)
    acks.flush()
    expect(frames).toEqual([['ack', 3, true]])
    expect(acks.size).toBe(1)
  })

  it('sends the acks past a delivery in progress over several flushes, each once, and nothing more', () => {
    const { acks, frames } = tracker([1, 2, 3, 4, 5, 6])
    acks.ack(3)
    acks.flush()
    acks.ack(5)
    acks.flush()
    acks.flush()
    expect(frames).toEqual([
      ['ack', 3, false],
      ['ack', 5, false],
    ])
    acks.ack(1)
    acks.ack(2)
    acks.ack(4)
    acks.ack(6)
    acks.flush()
    // 3 and 5 are settled already: the rest is one contiguous run
    expect(frames.slice(2)).toEqual([['ack', 6, true]])
    expect(acks.size).toBe(0)
  })

  it('acks a lone finished delivery singly', () => {
    const { acks, frames } = tracker([1, 2])
    acks.ack(1)
    acks.flush()
    expect(frames).toEqual([['ack', 1, false]])
  })

  it('never lets a multiple ack cover a delivery still in progress', () => {
    const { acks, frames } = tracker([1, 2, 3, 4, 5])
    acks.ack(1)
    acks.ack(2)
    acks.ack(4)
    acks.ack(5)
    acks.flush()
    expect(frames).toEqual([
      ['ack', 2, true],
      ['ack', 4, false],
      ['ack', 5, false],
    ])
    expect(acks.size).toBe(1)
  })

  it('skips nacked tags when coalescing later acks', () => {
    const { acks, frames } = tracker([1, 2, 3])
    acks.nack(2, false)
    acks.ack(1)
    acks.ack(3)
    acks.flush()
    expect(frames).toEqual([
      ['nack', 2, false, false],
      ['ack', 3, true],
    ])
  })

  it('flushes by itself on the next turn of the event loop', async () => {
    const { acks, frames } = tracker([7])
    acks.ack(7)
    expect(frames).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(frames).toEqual([['ack', 7, false]])
  })

  it('ignores a second settlement of the same tag', () => {
    const { acks, frames } = tracker([1])
    expect(acks.nack(1, true)).toBe(true)
    expect(acks.ack(1)).toBe(false)
    expect(acks.nack(1, false)).toBe(false)
    acks.flush()
    expect(frames).toEqual([['nack', 1, false, true]])
  })

  it('turns settlements after its channel closed into no-ops', () => {
    const { acks, frames } = tracker([1, 2])
    acks.close()
    expect(acks.ack(1)).toBe(false)
    expect(acks.nack(2, false)).toBe(false)
    acks.flush()
    expect(frames).toEqual([])
  })
})
