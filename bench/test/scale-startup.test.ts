import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dist = (name: string): string => fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url))

/** The table rows of a scenario's stdout, split on runs of two or more spaces. */
function tableRows(stdout: string): string[][] {
  return stdout.split('\n').map((line) => line.trim().split(/ {2,}/))
}

describe('scale scenario', () => {
  it('runs 1, 2 and 4 instances of both implementations with --quick and prints every instance count', async () => {
    const { stdout } = await run(process.execPath, [dist('scale'), '--quick'], { timeout: 100_000 })
    const rows = tableRows(stdout)
      .filter(([instances]) => /^\d+$/.test(instances ?? ''))
      .map(([instances, implementation, total, ...rest]) => [
        `${instances} ${implementation}`,
        Number.parseFloat(total?.replaceAll(',', '') ?? '') > 0,
        // per instance msgs/s: the next `median (min–max)` cell in whole numbers (CPU has decimals)
        rest.some((cell) => /^[\d,]+ \([\d,]+–[\d,]+\)$/.test(cell)),
      ])
    expect(rows).toEqual(
      ['1', '2', '4'].flatMap((n) => [
        [`${n} @am/service Service`, true, true],
        [`${n} raw amqplib`, true, true],
      ]),
    )
    expect(stdout).toMatch(/^broker: default \(amqp:\/\/[^:]+:\*\*\*@/m)
    expect(stdout).toContain('--quick: results not saved')
  })
})

describe('startup scenario', () => {
  it('times cold start, start() and a warm start() of both implementations with --quick', async () => {
    const { stdout } = await run(process.execPath, [dist('startup'), '--quick'], { timeout: 60_000 })
    const rows = tableRows(stdout)
      .filter(([measure]) => /^(cold start|start\(\)|warm start)/.test(measure ?? ''))
      .map(([measure, implementation, ms]) => [`${measure} ${implementation}`, Number.parseFloat(ms ?? '') > 0])
    expect(rows).toEqual(
      ['cold start (fork → ready)', 'start() → ready', 'warm start()'].flatMap((measure) => [
        [`${measure} @am/service Service`, true],
        [`${measure} raw amqplib`, true],
      ]),
    )
    expect(stdout).toContain('--quick: results not saved')
  })
})
