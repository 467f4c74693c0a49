import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const scenario = fileURLToPath(new URL('../dist/codec.js', import.meta.url))

describe('codec scenario', () => {
  it('runs with --quick and prints a table row for every measure, payload and implementation', async () => {
    const { stdout } = await run(process.execPath, [scenario, '--quick'], { timeout: 60_000 })
    const rows = stdout
      .split('\n')
      .map((line) => line.split(/ {2,}/))
      .filter(([measure]) => measure === 'encode' || measure === 'decode' || measure === 'round trip')
    const seen = rows.map(([measure, payload, implementation, median]) => [
      `${measure} ${payload} ${implementation}`,
      Number(median?.replaceAll(',', '')) > 0,
    ])
    const expected = ['encode', 'decode', 'round trip'].flatMap((measure) =>
      ['tiny', 'small'].flatMap((payload) =>
        ['@am/codec CBOR', 'cbor-x', '@am/codec JSON', 'JSON + Buffer'].map((implementation) => [
          `${measure} ${payload} ${implementation}`,
          true,
        ]),
      ),
    )
    expect(seen.sort()).toEqual(expected.sort())
    expect(stdout).toContain('native extractor loaded')
    expect(stdout).toContain('--quick: results not saved')
  })
})

describe('recovery scenario', () => {
  it('runs with --quick against the broker and prints both implementations', async () => {
    const recovery = fileURLToPath(new URL('../dist/recovery.js', import.meta.url))
    const { stdout } = await run(process.execPath, [recovery, '--quick'], { timeout: 60_000 })
    const rows = stdout.split('\n').filter((line) => /^(@am\/bus-core supervisor|amqplib 2 recovery)/.test(line))
    expect(rows.map((line) => Number(line.split(/ {2,}/)[1]) > 0)).toEqual([true, true])
    expect(stdout).toContain('--quick: results not saved')
  })
})
