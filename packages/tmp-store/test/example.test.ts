import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const example = fileURLToPath(new URL('../example/share-work.mjs', import.meta.url))

describe('example/share-work.mjs', () => {
  it('shares 20 jobs between two instances, each taken once, and one token', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example], { timeout: 30_000 })
    const lines = stdout.trim().split('\n')
    const taken = lines.slice(0, 2).map((line) => Number(/took (\d+) jobs/.exec(line)?.[1]))
    expect([taken.reduce((a, b) => a + b, 0), lines.slice(2)]).toEqual([
      20,
      ['every job taken exactly once: true', 'token created 1 time(s), same for both: true', 'store up: true'],
    ])
  })
})
