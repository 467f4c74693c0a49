import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const scenario = fileURLToPath(new URL('../dist/cluster.js', import.meta.url))

// Starts a throwaway 3-node cluster (about a minute) after waiting for the machine's cluster lock,
// which other suites may hold: hence the long timeouts. SIGTERM (the execFile timeout) stops the nodes.
describe('cluster scenario', () => {
  it('relays on quorum queues with both implementations, kills the leader once, and loses nothing with --quick', async () => {
    const { stdout } = await run(process.execPath, [scenario, '--quick'], { timeout: 560_000 })
    const rows = stdout.split('\n').map((line) => line.trim().split(/ {2,}/))
    const steady = rows
      .filter(([implementation]) => implementation === '@am/service Service' || implementation === 'raw amqplib')
      .map(([implementation, msgsPerSecond]) => [
        implementation,
        Number.parseFloat(msgsPerSecond?.replaceAll(',', '') ?? '') > 0,
      ])
    expect(steady).toEqual([
      ['@am/service Service', true],
      ['raw amqplib', true],
    ])
    const trial = rows.find(([first]) => first === '1')
    expect(trial).toHaveLength(7)
    const [, before, resumeMs, after, lost, duplicated, unrelayed] = trial ?? []
    expect(Number.parseFloat(before?.replaceAll(',', '') ?? '')).toBeGreaterThan(0)
    expect(Number.parseFloat(resumeMs ?? '')).toBeGreaterThan(0)
    expect(Number.parseFloat(after?.replaceAll(',', '') ?? '')).toBeGreaterThan(0)
    expect(lost).toBe('0')
    expect(Number(duplicated)).toBeGreaterThanOrEqual(0)
    expect(unrelayed).toBe('0')
    expect(stdout).toMatch(/lost: .*\(target 0\)/)
    expect(stdout).toContain('--quick: results not saved')
  }, 600_000)
})
