import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { deleteQueues, EXAMPLE_QUEUES, url } from './helpers.js'

const demo = fileURLToPath(new URL('../dist/demo.js', import.meta.url))

/** Runs the built demo with `args`, its stdout a pipe (plain lines), and waits for its exit. */
function runDemo(args: string[], amqpUrl = url): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(demo)) throw new Error(`${demo} is missing: pnpm build first`)
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [demo, ...args],
      { env: { ...process.env, AMQP_URL: amqpUrl, NO_COLOR: '1' }, timeout: 25_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    )
  })
}

describe('the demo', () => {
  it('runs every example, prints each kind of message with its conversation, sums them up and exits 0', async () => {
    onTestFinished(() => deleteQueues(EXAMPLE_QUEUES))
    const { code, stdout, stderr } = await runDemo(['--seconds', '3'])
    const lines = stdout.trimEnd().split('\n')
    // time, kind, routing key, conversation id (8 characters or -), payload
    const kinds = new Set(lines.map((line) => /^ +\d+\.\d\ds {2}(\w+) +\S+ +(?:[0-9a-f]{8}|-) {2}/.exec(line)?.[1]))
    expect({ code, stderr, first: lines[0], last: lines.at(-1)?.replace(/\d+(\.\d)?/g, 'N') }).toEqual({
      code: 0,
      stderr: '',
      first: `Demo on ${url.replace(/:[^:@/]*@/, ':***@')} for 3 s (Ctrl-C stops it)`,
      last: 'N messages in N s: N events, N commands, N results, N configurations, N logs',
    })
    expect([...kinds].filter(Boolean).sort()).toEqual(['command', 'configuration', 'event', 'log', 'result'])
    expect(stdout).toContain("I'm fine!")
  })

  it('runs the same services on the in-memory bus with --memory, and says so first', async () => {
    const { code, stdout, stderr } = await runDemo(['--seconds', '3', '--memory'])
    const lines = stdout.trimEnd().split('\n')
    const kinds = new Set(lines.map((line) => /^ +\d+\.\d\ds {2}(\w+) +\S+ +(?:[0-9a-f]{8}|-) {2}/.exec(line)?.[1]))
    expect({ code, stderr, first: lines[0] }).toEqual({
      code: 0,
      stderr: '',
      first: 'Demo on the in-memory bus (@am/testing, --memory) for 3 s (Ctrl-C stops it)',
    })
    expect([...kinds].filter(Boolean).sort()).toEqual(['command', 'configuration', 'event', 'log', 'result'])
  })

  it('says what to do and exits 69 when no broker answers', async () => {
    const { code, stdout, stderr } = await runDemo(['--seconds', '3'], 'amqp://guest:secret@127.0.0.1:1/')
    expect({ code, stdout, stderr }).toMatchInlineSnapshot(`
      {
        "code": 69,
        "stderr": "error: no broker at amqp://guest:***@127.0.0.1:1/: nothing listens on 127.0.0.1:1 (ECONNREFUSED): start RabbitMQ (rabbitmq-server -detached) or fix AMQP_URL
      ",
        "stdout": "",
      }
    `)
  })

  it('says the broker refused the login, not that there is no broker (exit 69)', async () => {
    const bad = new URL(url)
    bad.password = 'wrong-password'
    const { code, stdout, stderr } = await runDemo(['--seconds', '3'], bad.href)
    expect({ code, stdout, stderr }).toEqual({
      code: 69,
      stdout: '',
      stderr: `error: the broker at ${bad.href.replace(':wrong-password@', ':***@')} refused the login of user '${bad.username}' (ACCESS_REFUSED): fix the user or password in the URL\n`,
    })
  })

  it('refuses a --seconds that is not a positive number (exit 64)', async () => {
    const { code, stderr } = await runDemo(['--seconds', '0'])
    expect({ code, stderr }).toMatchInlineSnapshot(`
      {
        "code": 64,
        "stderr": "error: --seconds must be a positive number, got 0; usage: node examples/dist/demo.js [--seconds N] [--memory] (broker: AMQP_URL, default amqp://guest:***@127.0.0.1:5672/, else the in-memory bus)
      ",
      }
    `)
  })
})
