import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const scenario = fileURLToPath(new URL('../dist/rpc.js', import.meta.url))

describe('rpc scenario', () => {
  it('runs request(), sendCommand and both raw baselines with --quick and prints a row for each', async () => {
    const { stdout } = await run(process.execPath, [scenario, '--quick'], { timeout: 100_000 })
    const rows = stdout
      .split('\n')
      .map((line) => line.split(/ {2,}/))
      .filter((columns) => columns.length > 2 && /^(@am\/service|raw amqplib)/.test(columns[0] ?? ''))
      .map(([implementation, p50]) => [implementation, Number.parseFloat(p50 ?? '') > 0])
    expect(rows).toEqual([
      ['@am/service request()', true],
      ['@am/service sendCommand + result handler', true],
      ['raw amqplib, exclusive reply queue', true],
      ['raw amqplib, durable result queue', true],
    ])
    expect(stdout).toContain('--quick: results not saved')
  })
})
