import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { deleteQueues, EXAMPLE_QUEUES, url, waitFor } from './helpers.js'

const SERVICES = ['pong', 'relay', 'configurator', 'speaker', 'ping', 'shop']

/** A port free on loopback right now (the kernel's pick). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const demo = fileURLToPath(new URL('../dist/demo.js', import.meta.url))

/** Runs the built demo with `args`, its stdout a pipe (plain lines), and waits for its exit. */
function runDemo(
  args: string[],
  amqpUrl = url,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(demo)) throw new Error(`${demo} is missing: pnpm build first`)
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [demo, ...args],
      { env: { ...process.env, AMQP_URL: amqpUrl, NO_COLOR: '1', ...env }, timeout: 25_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    )
  })
}

describe('the demo', () => {
  it('runs every example, prints each kind of message with its conversation, sums them up and exits 0', async () => {
    onTestFinished(() => deleteQueues(EXAMPLE_QUEUES))
    const { code, stdout, stderr } = await runDemo(['--seconds', '3'])
    const lines = stdout.trimEnd().split('\n')
    // time, kind, routing key, conversation id (8 characters or -), sender, payload
    const kinds = new Set(lines.map((line) => /^ +\d+\.\d\ds {2}(\w+) +\S+ +(?:[0-9a-f]{8}|-) {2}/.exec(line)?.[1]))
    const senders = new Map<string, Set<string>>()
    for (const line of lines) {
      const [, key, sender] = /^ +\d+\.\d\ds {2}\w+ +(\S+) +(?:[0-9a-f]{8}|-) +(\S+)/.exec(line) ?? []
      if (key && sender) senders.set(key, (senders.get(key) ?? new Set()).add(sender))
    }
    expect(lines[1]).toMatch(/^Columns: time \(s\), kind, routing key, conversation id .*, sent by .*, payload/)
    // Each message is attributed to the service that published it, also where the routing key does not say.
    expect(Object.fromEntries([...senders].map(([key, set]) => [key, [...set]]))).toMatchObject({
      'pong.Echo': ['ping'],
      'ping.EchoReturn': ['pong'],
      OrderPlaced: ['shop'],
      OrderRelayed: ['relay'],
      EchoMessagesRequested: ['speaker'],
      EchoMessagesDefined: ['configurator'],
      'ping.NOTICE': ['ping'],
    })
    expect({ code, stderr, first: lines[0], last: lines.at(-1)?.replace(/\d+(\.\d)?/g, 'N') }).toEqual({
      code: 0,
      stderr: '',
      first: `Demo on ${url.replace(/:[^:@/]*@/, ':***@')} for 3 s (Ctrl-C stops it)`,
      last: 'N messages in N s: N events, N commands, N results, N configurations, N logs',
    })
    expect([...kinds].filter(Boolean).sort()).toEqual(['command', 'configuration', 'event', 'log', 'result'])
    expect(stdout).toContain("I'm fine!")
  })

  it('serves /healthz, /readyz and /metrics for its six services on one AM_HEALTH_PORT', async () => {
    onTestFinished(() => deleteQueues(EXAMPLE_QUEUES))
    const port = await freePort()
    const running = runDemo(['--seconds', '4'], url, { AM_HEALTH_PORT: String(port) })
    const get = async (path: string): Promise<{ status: number; text: string }> => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`)
      return { status: response.status, text: await response.text() }
    }
    await waitFor(
      async () => (await get('/readyz').catch(() => ({ status: 0 }))).status === 200,
      15_000,
      'the demo to answer /readyz with 200',
    )
    const ready = { state: 'ready', alive: true, ready: true }
    const body = { alive: true, ready: true, services: Object.fromEntries(SERVICES.map((name) => [name, ready])) }
    const [healthz, readyz, metrics] = [await get('/healthz'), await get('/readyz'), await get('/metrics')]
    expect([healthz.status, JSON.parse(healthz.text), readyz.status, JSON.parse(readyz.text)]).toEqual([
      200,
      body,
      200,
      body,
    ])
    expect([metrics.status, metrics.text.match(/^am_bus_ready\{.*$/gm)]).toEqual([
      200,
      SERVICES.map((name) => `am_bus_ready{service="${name}"} 1`),
    ])
    const { code, stderr } = await running
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
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
