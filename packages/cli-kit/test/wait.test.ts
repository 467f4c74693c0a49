import { describe, expect, it } from 'vitest'
import { withDeadline } from '../src/index.js'

describe('withDeadline', () => {
  it('resolves with the promise', async () => {
    await expect(withDeadline(Promise.resolve(1), { timeoutMs: 1000 })).resolves.toBe(1)
  })

  it('rejects with CLI_TIMEOUT after the timeout', async () => {
    await expect(withDeadline(new Promise(() => {}), { timeoutMs: 20, what: 'a result' })).rejects.toMatchObject({
      code: 'CLI_TIMEOUT',
      exitCode: 2,
      message: 'timed out after 20 ms waiting for a result',
    })
  })

  it('rejects with the reason of an aborted signal', async () => {
    const controller = new AbortController()
    const pending = withDeadline(new Promise(() => {}), { signal: controller.signal })
    controller.abort(new Error('stop'))
    await expect(pending).rejects.toThrow('stop')
  })
})

describe('withDeadline after the deadline', () => {
  it('ignores a later rejection of the promise', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const late = new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 30))
      await expect(withDeadline(late, { timeoutMs: 5 })).rejects.toMatchObject({ code: 'CLI_TIMEOUT' })
      await new Promise((resolve) => setTimeout(resolve, 60))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})
