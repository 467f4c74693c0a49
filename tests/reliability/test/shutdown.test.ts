import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createSupervisor, defineTopology } from '@am/bus-core'
import { encode } from '@am/codec'
import { configurationProperties } from '@am/service'
import { rabbitmqctl, startProxy, uniqueName, waitFor } from '@am/testkit'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { cleanupQueues, peer, url, vhost } from './support/broker.js'
import { Capture, GUEST_PASSWORD } from './support/capture.js'
import { recordFigure } from './support/figures.js'
import { Ledger } from './support/ledger.js'
import { drained, openSink, produce, Relay } from './support/relay.js'

// SIGTERM to a service process in each state: it must exit by itself within the bound, with
// nothing confirmed-then-lost and no unconfirmed publish reported as sent.
const EXIT_BOUND_MS = 5_000
/** A hung broker costs the service's stopTimeoutMs plus the supervisor's closeTimeoutMs (1 s each in the fixture), in all. */
const HUNG_BOUND_MS = 1_000 + 1_000 + 1_500
const fixture = new URL('./fixtures/shutdown-service.mjs', import.meta.url).pathname
const capture = new Capture()
const exits: Array<[state: string, ms: number]> = []
const counts = { messages: 0, lost: 0, duplicates: 0 }

interface Child {
  process: ChildProcess
  lines: Array<Record<string, unknown>>
  /** Resolves with the first line that has `key` (and `value`, when given). */
  line(key: string, value?: unknown, timeoutMs?: number): Promise<Record<string, unknown>>
  /** Sends SIGTERM and resolves with the exit code and the time to exit. */
  terminate(): Promise<{ code: number | null; ms: number }>
}

function launch(mode: string, name: string, brokerUrl: string, ...rest: string[]): Child {
  const child = spawn(process.execPath, [fixture, mode, name, brokerUrl, ...rest], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  const lines: Array<Record<string, unknown>> = []
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const complete = buffered.split('\n')
    buffered = complete.pop() ?? ''
    for (const text of complete) {
      capture.add(text)
      lines.push(JSON.parse(text) as Record<string, unknown>)
    }
  })
  let stderr = ''
  let exitCode: number | null | undefined
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    capture.add(chunk.toString())
  })
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code
      resolve(code)
    }),
  )
  return {
    process: child,
    lines,
    line: (key, value, timeoutMs = 30_000) =>
      waitFor(
        () => {
          const found = lines.find((l) => key in l && (value === undefined || l[key] === value))
          if (!found && exitCode !== undefined) {
            throw new Error(`the ${mode} service exited (${exitCode}) before printing ${key}:\n${stderr}`)
          }
          return found
        },
        timeoutMs,
        `${mode} service to print ${key}${value === undefined ? '' : `=${String(value)}`} (stderr: ${stderr})`,
      ),
    terminate: async () => {
      const started = Date.now()
      child.kill('SIGTERM')
      const code = await Promise.race([
        exited,
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000)),
      ])
      if (code === 'timeout') throw new Error(`the ${mode} service did not exit 30 s after SIGTERM`)
      return { code, ms: Date.now() - started }
    },
  }
}

afterAll(() => {
  expect(capture.find(GUEST_PASSWORD)).toEqual([])
  // Written whatever happened: the report takes the outcome from the results of the SIGTERM tests.
  recordFigure({
    id: '6-shutdown',
    scenario: `SIGTERM in ${exits.length} states (child processes)`,
    messages: counts.messages,
    lost: counts.lost,
    duplicates: counts.duplicates,
    resumeMs: null,
    notes: `exit after SIGTERM: ${exits.map(([state, ms]) => `${state} ${ms} ms`).join(', ')} (bound ${EXIT_BOUND_MS} ms; broker hung: ${HUNG_BOUND_MS} ms)`,
    test: 'SIGTERM',
    file: fileURLToPath(import.meta.url),
  })
})

describe('SIGTERM', () => {
  it('while consuming under load: exits in time, and every confirmed input is relayed (by it or after it)', async () => {
    const name = uniqueName('rel-term')
    cleanupQueues(name)
    const input = uniqueName('TermIn')
    const output = uniqueName('TermOut')
    const ledger = new Ledger()
    tally(ledger)
    await using sink = await openSink({
      urls: url,
      routingKey: output,
      ledger,
      connectionName: uniqueName('rel-sink'),
    })
    const child = launch('consuming', name, url, input, output)
    await child.line('state', 'ready')
    await using producer = createSupervisor({ urls: url, connectionName: uniqueName('rel-pub') })
    await producer.ready()
    const producing = produce({ bus: producer, routingKey: input, count: 5_000, ledger, prefix: name })
    await waitFor(() => ledger.delivered.size >= 1_000, 60_000, 'the service relaying')
    const { code, ms } = await child.terminate()
    exits.push(['consuming', ms])
    const relayedByChild = ledger.delivered.size
    await producing
    // What the stopped process left in its queue, another instance relays.
    await using drain = new Relay(name, input, output, ledger, { urls: url, prefetch: 50, handleSignals: false })
    await drain.start()
    await waitFor(() => ledger.delivered.size >= ledger.confirmed.size, 60_000, 'every confirmed input relayed')
    await drained(rabbitmqctl, vhost, [`${name}.events`, sink.queue()])
    expect(code).toBe(0)
    expect(ms).toBeLessThan(EXIT_BOUND_MS)
    expect(relayedByChild).toBeLessThan(5_000)
    expect(ledger.lost).toEqual([])
    expect(ledger.duplicates).toBeLessThanOrEqual(20)
  })

  it('while unconfigured', async () => {
    const name = uniqueName('rel-term-unconf')
    cleanupQueues(name)
    const child = launch('unconfigured', name, url)
    await child.line('state', 'unconfigured')
    const { code, ms } = await child.terminate()
    exits.push(['unconfigured', ms])
    expect([code, ms < EXIT_BOUND_MS]).toEqual([0, true])
  })

  it('with only configuration consumers, configured', async () => {
    const name = uniqueName('rel-term-conf')
    const child = launch('configuration-only', name, url)
    await child.line('state', 'unconfigured')
    const bus = await peer()
    await bus.publish('configurations', `${name}-Conf`, encode({ on: true }), configurationProperties())
    await child.line('state', 'ready')
    const { code, ms } = await child.terminate()
    exits.push(['configuration-only', ms])
    expect([code, ms < EXIT_BOUND_MS]).toEqual([0, true])
  })

  it('while publishing only: every publish reported sent was delivered', async () => {
    const name = uniqueName('rel-term-pub')
    const ledger = new Ledger()
    tally(ledger)
    await using sink = await openSink({
      urls: url,
      routingKey: `${name}-Pub`,
      ledger,
      connectionName: uniqueName('rel-sink'),
    })
    const child = launch('publish-only', name, url)
    await waitFor(() => child.lines.filter((l) => 'sent' in l).length >= 2_000, 30_000, '2,000 publishes')
    const { code, ms } = await child.terminate()
    exits.push(['publish-only', ms])
    const sent = child.lines.filter((l) => 'sent' in l).map((l) => l.sent as string)
    const rejected = child.lines.filter((l) => 'rejected' in l)
    for (const id of sent) ledger.confirm(id)
    for (const line of rejected) ledger.reject(line.rejected as string, line.code as string)
    await waitFor(() => ledger.lost.length === 0, 30_000, 'every publish reported sent to be delivered')
    await drained(rabbitmqctl, vhost, [sink.queue()])
    expect([code, ms < EXIT_BOUND_MS]).toEqual([0, true])
    expect(ledger.lost).toEqual([])
    expect(ledger.duplicates).toBe(0)
    // Every publish settled before the process ended, and nothing arrived that it did not report.
    expect(sent.length + rejected.length).toBe((await child.line('exiting')).published)
    expect(ledger.strangers).toEqual([])
  })

  it('while reconnecting to a dead broker', async () => {
    const name = uniqueName('rel-term-dead')
    const dead = new URL(url)
    dead.port = String(await closedPort())
    const child = launch('reconnecting', name, dead.href)
    await child.line('reconnecting', 3)
    const { code, ms } = await child.terminate()
    exits.push(['reconnecting', ms])
    expect([code, ms < EXIT_BOUND_MS]).toEqual([0, true])
  })

  it('while the broker hangs (connection open, nothing answered), within the stop timeouts', async () => {
    const name = uniqueName('rel-term-hung')
    cleanupQueues(name)
    const broker = new URL(url)
    await using proxy = await startProxy(broker.hostname, Number(broker.port || 5672))
    const hung = new URL(url)
    hung.port = String(proxy.port)
    const child = launch('consuming', name, hung.href, uniqueName('HungIn'), uniqueName('HungOut'))
    await child.line('state', 'ready')
    proxy.freeze()
    const { code, ms } = await child.terminate()
    exits.push(['broker hung', ms])
    expect([code, ms < HUNG_BOUND_MS]).toEqual([0, true])
  })

  it('in the middle of a request: the request fails with SERVICE_STOPPED', async () => {
    const name = uniqueName('rel-term-req')
    const command = `${uniqueName('rel-nobody')}.Ask`
    // A responder that takes the command and never answers.
    await using responder = createSupervisor({
      urls: url,
      topology: defineTopology({
        exchanges: [{ name: 'commands', type: 'topic' }],
        queues: [{ key: 'q', name: '' }],
        bindings: [{ queue: 'q', exchange: 'commands', routingKey: command }],
      }),
    })
    await responder.ready()
    let asked = 0
    await responder.consume('q', (d) => {
      asked += 1
      d.ack()
    })
    const child = launch('mid-request', name, url, command)
    await waitFor(() => asked === 1, 20_000, 'the command to reach the responder')
    const { code, ms } = await child.terminate()
    exits.push(['mid-request', ms])
    expect([code, ms < EXIT_BOUND_MS]).toEqual([0, true])
    expect(child.lines.find((l) => 'requestFailed' in l)).toEqual({ requestFailed: 'SERVICE_STOPPED' })
  })
})

/** Adds what `ledger` holds at the end of the test, passed or failed, to the scenario's figures. */
function tally(ledger: Ledger): void {
  onTestFinished(() => {
    counts.messages += ledger.confirmed.size + ledger.rejected.size
    counts.lost += ledger.lost.length
    counts.duplicates += ledger.duplicates
  })
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
