import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const scenario = fileURLToPath(new URL('../dist/memory.js', import.meta.url))

describe('memory scenario', () => {
  it('samples both implementations in child processes with --quick and prints a row for each', async () => {
    const { stdout } = await run(process.execPath, [scenario, '--quick'], { timeout: 100_000 })
    const rows = stdout
      .split('\n')
      .map((line) => line.split(/ {2,}/))
      .filter(([implementation]) => /^(@am\/service|raw amqplib)/.test(implementation ?? ''))
      .map(([implementation, heap]) => [implementation, Number.parseFloat(heap ?? '') > 0])
    expect(rows).toEqual([
      ['@am/service Service', true],
      ['raw amqplib', true],
    ])
    expect(stdout).toContain('--quick: results not saved')
  })
})
