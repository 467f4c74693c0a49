import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const scenario = fileURLToPath(new URL('../dist/relay.js', import.meta.url))

describe('relay scenario', () => {
  it('relays through both implementations at every prefetch with --quick and prints a row for each', async () => {
    const { stdout } = await run(process.execPath, [scenario, '--quick'], { timeout: 100_000 })
    const rows = stdout
      .split('\n')
      .map((line) => line.trim().split(/ {2,}/))
      .filter(([prefetch]) => /^\d+$/.test(prefetch ?? ''))
      .map(([prefetch, implementation, msgsPerSecond]) => [
        `${prefetch} ${implementation}`,
        Number.parseFloat(msgsPerSecond?.replaceAll(',', '') ?? '') > 0,
      ])
    expect(rows).toEqual(
      ['10', '100', '500'].flatMap((prefetch) => [
        [`${prefetch} @am/service Service`, true],
        [`${prefetch} @am/service, metrics off`, true],
        [`${prefetch} raw amqplib`, true],
      ]),
    )
    expect(stdout).toMatch(/metrics on\/off, prefetch 100: msgs\/s \d/)
    expect(stdout).toContain('--quick: results not saved')
  })

  it('runs only the prefetches given with --prefetch', async () => {
    const { stdout } = await run(process.execPath, [scenario, '--quick', '--prefetch', '100'], { timeout: 100_000 })
    const prefetches = stdout
      .split('\n')
      .map((line) => line.trim().split(/ {2,}/)[0] ?? '')
      .filter((first) => /^\d+$/.test(first))
    expect(prefetches).toEqual(['100', '100', '100'])
  })
})
