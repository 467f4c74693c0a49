import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expectNoBroker, expectUsageError, runBinary, startBinary } from '@am/cli-kit/testing'
import { uniqueName, waitFor } from '@am/testkit'
import { connect } from 'amqplib'
import { beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest'
import { startResponder } from './responder.js'

const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const url = inject('amqpUrl')

/** The routing keys bound on the `commands` exchange of the test vhost (management API). */
async function commandBindings(): Promise<string[]> {
  const broker = new URL(url)
  const vhost = encodeURIComponent(decodeURIComponent(broker.pathname.slice(1)) || '/')
  const response = await fetch(`http://${broker.hostname}:15672/api/exchanges/${vhost}/commands/bindings/source`, {
    headers: {
      authorization: `Basic ${Buffer.from(`${decodeURIComponent(broker.username || 'guest')}:${decodeURIComponent(broker.password || 'guest')}`).toString('base64')}`,
    },
  })
  if (!response.ok) throw new Error(`management API: ${response.status}`)
  return ((await response.json()) as Array<{ routing_key: string }>).map((binding) => binding.routing_key)
}
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'send-command-e2e-'))
  return () => rm(dir, { recursive: true, force: true })
})

async function payload(value: unknown): Promise<string> {
  const path = join(dir, `${uniqueName('p')}.json`)
  await writeFile(path, JSON.stringify(value))
  return path
}

describe('am-send-command (built binary)', () => {
  it('exits 0 on a success result and prints it as NDJSON', async () => {
    const responder = await startResponder(url)
    const run = await runBinary(bin, [url, responder.command, await payload({ n: 1 }), '--ndjson'])
    const [line] = run.json() as Array<Record<string, unknown>>
    expect(line).toEqual({
      status: 'success',
      correlationId: expect.any(String),
      conversationId: expect.stringMatching(/^debug-/),
      payload: { echo: { n: 1 }, correlationId: line?.correlationId },
      elapsedMs: expect.any(Number),
      headers: { status: 'success', conversation_id: line?.conversationId },
    })
    expect(run.code).toBe(0)
  })

  it('gives two concurrent runs their own results', async () => {
    const responder = await startResponder(url)
    const [a, b] = await Promise.all([
      runBinary(bin, [url, responder.command, await payload({ run: 'a' }), '--ndjson']),
      runBinary(bin, [url, responder.command, await payload({ run: 'b' }), '--ndjson']),
    ])
    expect(responder.received).toHaveLength(2)
    for (const [run, name] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      expect(run.code).toBe(0)
      const lines = run.json() as Array<{ correlationId: string; payload: unknown }>
      expect(lines).toHaveLength(1)
      expect(lines[0]?.payload).toEqual({ echo: { run: name }, correlationId: lines[0]?.correlationId })
    }
  })

  it('exits 1 on an error result', async () => {
    const responder = await startResponder(url, () => ({ status: 'error', payload: { reason: 'nope' } }))
    const run = await runBinary(bin, [url, responder.command, await payload({}), '--ndjson'])
    expect(run.json()).toEqual([expect.objectContaining({ status: 'error', payload: { reason: 'nope' } })])
    expect(run.code).toBe(1)
  })

  it('exits 1 at once for an unroutable command', async () => {
    const command = `${uniqueName('nosvc')}.Do`
    const run = await runBinary(bin, [command, await payload({}), '--ndjson'], { env: { AMQP_URL: url } })
    expect(run.json()).toEqual([expect.objectContaining({ status: 'unroutable', payload: null })])
    expect(run.stderr).toContain(`no queue is bound for command ${command}`)
    expect(run.code).toBe(1)
  })

  it('exits 2 when no result comes within --timeout, saying the command was routed', async () => {
    const responder = await startResponder(url, () => ({ silent: true }))
    const started = Date.now()
    const run = await runBinary(bin, [url, responder.command, await payload({}), '--timeout', '1', '--ndjson'])
    expect(Date.now() - started).toBeLessThan(8_000)
    const [line] = run.json() as Array<{ correlationId: string }>
    expect(run.json()).toEqual([expect.objectContaining({ status: 'timeout', payload: null })])
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 2,
      stderr: `error: no result for ${responder.command} within 1 s (correlation id ${line?.correlationId}): the command was routed (to a queue other than ${responder.service}.commands), so its service is down, still unconfigured or slow; it may still handle the command later, but the reply queue is deleted, so the result is lost\n`,
    })
  })

  it("names the service's queue after a timeout, and leaves no reply queue behind", async () => {
    const service = uniqueName('downsvc')
    const queue = `${service}.commands`
    const connection = await connect(url)
    onTestFinished(() => connection.close())
    const channel = await connection.createChannel()
    await channel.assertExchange('commands', 'topic', { durable: true })
    await channel.assertQueue(queue, { durable: false, arguments: { 'x-expires': 60_000 } })
    onTestFinished(async () => {
      await channel.deleteQueue(queue)
    })
    await channel.bindQueue(queue, 'commands', `${service}.*`)
    const run = await runBinary(bin, [url, `${service}.Do`, await payload({}), '--timeout', '0.5', '--ndjson'])
    const [line] = run.json() as Array<{ correlationId: string }>
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 2,
      stderr: `error: no result for ${service}.Do within 500 ms (correlation id ${line?.correlationId}): the command was routed to queue ${queue} (0 consumers, 1 message ready), so its service is down, still unconfigured or slow; it may still handle the command later, but the reply queue is deleted, so the result is lost\n`,
    })
    // The reply key's binding goes with its queue.
    await waitFor(
      async () => !(await commandBindings()).includes(`debug.return.${line?.correlationId}`),
      5_000,
      'the reply queue to go',
    )
  })

  it('ends promptly on SIGINT while waiting', async () => {
    const responder = await startResponder(url, () => ({ silent: true }))
    const tool = startBinary(bin, [url, responder.command, await payload({})])
    // Once the command reached the responder, the tool waits for its result.
    await waitFor(() => responder.received.length === 1, 10_000, 'the command')
    const started = Date.now()
    tool.child.kill('SIGINT')
    const run = await tool.exited
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(run.code).toBe(130)
    expect(run.stderr).toContain('interrupted by SIGINT')
  })

  it('exits 69 when no broker listens, without showing the password', async () => {
    const file = await payload({})
    await expectNoBroker(bin, (broker) => [broker, 'svc.Do', file, '--connect-timeout', '0.3'])
  })

  it.each([
    { args: ['svc.Do', 'p.json'], message: 'give the broker URL as first argument or set AMQP_URL' },
    {
      args: ['amqp://localhost/', 'svc.Do'],
      message: 'expected <service.Command> <payload_file> after the broker URL, got 1 argument(s); see --help',
    },
    // cac names `--x` as `-x`
    { args: ['amqp://localhost/', 'svc.Do', 'p.json', '--x'], message: 'Unknown option `-x`' },
  ])('exits 64 on a usage error: $args', ({ args, message }) => expectUsageError(bin, args, message))
})
