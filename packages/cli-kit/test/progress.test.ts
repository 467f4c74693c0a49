import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createProgress } from '../src/index.js'
import { createMemoryContext } from '../src/testing.js'

function stderr(isTTY: boolean): { stream: Writable & { isTTY: boolean }; text: () => string } {
  const chunks: string[] = []
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString())
        callback()
      },
    }),
    { isTTY },
  )
  return { stream, text: () => chunks.join('') }
}

describe('createProgress', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('redraws the line at most ten times a second, always the last one, and clears it', () => {
    const err = stderr(true)
    const { ctx } = createMemoryContext({ stderr: err.stream, isTTY: false })
    const progress = createProgress(ctx, 'fetching q', 200)
    vi.setSystemTime(1_000)
    progress.update(1)
    progress.update(2)
    vi.setSystemTime(1_100)
    progress.update(3)
    progress.update(200)
    progress.end()
    expect(err.text()).toBe(
      '\rfetching q 1/200\u001b[K\rfetching q 3/200\u001b[K\rfetching q 200/200\u001b[K\r\u001b[K',
    )
  })

  it.each([
    ['stderr is not a terminal', false, false, 200],
    ['stdout is a terminal', true, true, 200],
    ['the run is short', true, false, 99],
  ])('writes nothing when %s', (_when, stderrIsTTY, stdoutIsTTY, total) => {
    const err = stderr(stderrIsTTY)
    const { ctx } = createMemoryContext({ stderr: err.stream, isTTY: stdoutIsTTY })
    const progress = createProgress(ctx, 'x', total)
    progress.update(total)
    progress.end()
    expect(err.text()).toBe('')
  })

  it('clears nothing when it never drew', () => {
    const err = stderr(true)
    const { ctx } = createMemoryContext({ stderr: err.stream })
    createProgress(ctx, 'x', 500).end()
    expect(err.text()).toBe('')
  })
})
