import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it, onTestFailed } from 'vitest'

const run = promisify(execFile)
const scenario = fileURLToPath(new URL('../dist/cluster.js', import.meta.url))

// Starts a throwaway 3-node cluster (about a minute) after waiting for the machine's cluster lock,
// which other suites may hold: hence the long timeouts. SIGTERM (the execFile timeout) stops the nodes.
describe('cluster scenario', () => {
  it('relays on quorum queues with both implementations, kills the leader once, and accounts for every message with --quick', async () => {
    const { stdout, stderr } = await run(process.execPath, [scenario, '--quick'], { timeout: 560_000 })
    // What the framework said during the kill (stderr), to read when an assertion below fails.
    onTestFailed(() => console.error(stderr.split('\n').slice(-80).join('\n')))
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
    // The trial row: the relay resumed after the kill, every event is in the sink (duplicates
    // allowed: at-least-once), nothing left behind.
    const trial = rows.find(([first]) => first === '1')
    expect(trial).toHaveLength(7)
    const [, before, resumeMs, after, lost, duplicated, unrelayed] = trial ?? []
    expect(Number.parseFloat(before?.replaceAll(',', '') ?? '')).toBeGreaterThan(0)
    expect(duplicated).toMatch(/^\d+$/)
    expect([lost, unrelayed]).toEqual(['0', '0'])
    expect(Number.parseFloat(resumeMs ?? '')).toBeGreaterThan(0)
    expect(Number.parseFloat(after?.replaceAll(',', '') ?? '')).toBeGreaterThan(0)
    expect(stdout).toContain('lost: pre-loaded sequence numbers missing from the sink (target 0);')
    expect(stdout).toContain('--quick: results not saved')
  }, 600_000)
})
