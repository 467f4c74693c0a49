import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const scenario = fileURLToPath(new URL('../dist/schema.js', import.meta.url))

describe('schema scenario', () => {
  it('relays without a schema, with one, and with validateOutputs too with --quick, and prints a row for each', async () => {
    const { stdout } = await run(process.execPath, [scenario, '--quick'], { timeout: 100_000 })
    const rows = stdout
      .split('\n')
      .map((line) => line.trim().split(/ {2,}/))
      .filter(([prefetch]) => /^\d+$/.test(prefetch ?? ''))
      .map(([prefetch, implementation, msgsPerSecond]) => [
        `${prefetch} ${implementation}`,
        Number.parseFloat(msgsPerSecond?.replaceAll(',', '') ?? '') > 0,
      ])
    expect(rows).toEqual([
      ['100 no schema', true],
      ['100 zod schema on input', true],
      ['100 zod on input + validateOutputs', true],
    ])
    expect(stdout).toMatch(/schema cost, prefetch 100, zod schema on input: -?\d+\.\d \(/)
    expect(stdout).toMatch(/the check alone: [\d,]+ checks\/s .+, \d+\.\d\d µs per check/)
    expect(stdout).toContain('--quick: results not saved')
  })
})
