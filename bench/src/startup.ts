// Scenario `startup`: what a new instance pays before it consumes. Ours: a @am/service `Service`
// with one event handler and one command handler; `start()` resolves once both consumers got their
// Consume-Ok. Baseline, in the same run: raw amqplib doing the same work — connect (TCP_NODELAY),
// a confirm channel, a log channel and a consume channel, the four eventail exchanges, the two
// durable queues `<name>.events` / `<name>.commands` with their bindings, prefetch, two consumers.
// Each trial is a fresh process, spawned by the parent:
// - cold start: from the parent's `fork()` to the child's "ready" message (Node boot, module
//   loading, connection, declarations, consumers): what autoscaling pays per new instance;
// - start(): the first `start()` (or raw sequence) in that process, to Consume-Ok of every consumer;
// - warm start(): a second one in the same process (modules loaded and compiled, new connection).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Handlers, Service } from '@am/service'
import type { ChannelModel } from 'amqplib'
import { brokerVersion, deleteQueues, open, uniqueName, url } from './lib/amqp.js'
import { childTask } from './lib/child.js'
import {
  brokerLine,
  environment,
  formatSummary,
  formatTable,
  parseOptions,
  ratioPerRound,
  type Summary,
  saveResults,
  summarize,
} from './lib/harness.js'

const options = parseOptions()
const settings = options.quick ? { trials: 2 } : { trials: options.rounds ?? 10 }
const OURS = '@am/service Service'
const RAW = 'raw amqplib'
const IMPLEMENTATIONS = [OURS, RAW]
const CHILD = 'BENCH_STARTUP_CHILD'

interface ChildTask {
  implementation: string
  name: string
}

interface ChildReport {
  startMs: number
  warmStartMs: number
}

/** Starts one instance and returns its closer. */
async function startOne(implementation: string, name: string): Promise<() => Promise<void>> {
  if (implementation === OURS) {
    class Startup extends Service {
      readonly name = name
      protected handlers(): Handlers {
        return {
          events: { [`${name}.Happened`]: () => undefined },
          commands: { Do: () => undefined },
        }
      }
    }
    const service = new Startup({ urls: url, prefetch: 100, handleSignals: false })
    await service.start()
    return () => service.stop()
  }
  const model: ChannelModel = await open(uniqueName(name))
  const main = await model.createConfirmChannel()
  const log = await model.createChannel()
  const consume = await model.createChannel()
  for (const exchange of ['events', 'commands', 'configurations']) {
    await main.assertExchange(exchange, 'topic', { durable: true })
  }
  await log.assertExchange('logs', 'topic', { durable: true })
  const queues = { events: `${name}.events`, commands: `${name}.commands` }
  await main.assertQueue(queues.events, { durable: true, exclusive: false, autoDelete: false })
  await main.assertQueue(queues.commands, { durable: true, exclusive: false, autoDelete: false })
  await main.bindQueue(queues.events, 'events', `${name}.Happened`)
  await main.bindQueue(queues.commands, 'commands', `${name}.Do`)
  await consume.prefetch(100)
  await consume.consume(queues.events, (message) => {
    if (message) consume.ack(message)
  })
  await consume.consume(queues.commands, (message) => {
    if (message) consume.ack(message)
  })
  return () => model.close()
}

async function child({ implementation, name }: ChildTask): Promise<void> {
  let at = performance.now()
  let close = await startOne(implementation, name)
  const startMs = performance.now() - at
  process.send?.({ type: 'ready' })
  await close()
  at = performance.now()
  close = await startOne(implementation, name)
  const warmStartMs = performance.now() - at
  await close()
  const report: ChildReport = { startMs, warmStartMs }
  process.send?.({ type: 'report', ...report })
}

interface Trial extends ChildReport {
  coldStartMs: number
}

function trial(implementation: string): Promise<Trial> {
  const name = uniqueName(implementation === RAW ? 'bench-raw-startup' : 'bench-startup')
  return new Promise<Trial>((resolve, reject) => {
    const forkedAt = performance.now()
    let coldStartMs = 0
    let report: ChildReport | undefined
    const c = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [CHILD]: JSON.stringify({ implementation, name } satisfies ChildTask) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    c.on('message', (message: { type: 'ready' } | ({ type: 'report' } & ChildReport)) => {
      if (message.type === 'ready') coldStartMs = performance.now() - forkedAt
      else report = { startMs: message.startMs, warmStartMs: message.warmStartMs }
    })
    c.on('error', reject)
    c.on('exit', (code) => {
      if (code === 0 && report) resolve({ ...report, coldStartMs })
      else reject(new Error(`the start-up child exited with code ${code}`))
    })
  }).finally(() => deleteQueues([`${name}.events`, `${name}.commands`]))
}

const task = childTask<ChildTask>(CHILD)
if (task) await child(task)
else await parent()

async function parent(): Promise<void> {
  const env = { ...environment(), broker: await brokerVersion() }
  console.log(brokerLine())
  console.log(
    'startup: a service with one event and one command handler (4 exchanges, 2 durable queues, 2 bindings, 3 channels, 2 consumers), one fresh process per trial; ms',
  )
  console.log(
    `${env.node}, ${env.platform}-${env.arch}, ${env.cpuCount} × ${env.cpuModel}, ${env.broker}; ${settings.trials} interleaved trial(s)${options.quick ? ' (--quick: not a measurement)' : ''}\n`,
  )
  const trials: Record<string, Trial[]> = { [OURS]: [], [RAW]: [] }
  for (let i = 0; i < settings.trials; i++) {
    for (const implementation of i % 2 === 0 ? IMPLEMENTATIONS : [...IMPLEMENTATIONS].reverse()) {
      const t = await trial(implementation)
      trials[implementation]?.push(t)
      console.error(
        `  trial ${i + 1}, ${implementation}: cold start ${t.coldStartMs.toFixed(0)} ms, start() ${t.startMs.toFixed(1)} ms, warm ${t.warmStartMs.toFixed(1)} ms`,
      )
    }
  }
  const measures = ['coldStartMs', 'startMs', 'warmStartMs'] as const
  const labels = { coldStartMs: 'cold start (fork → ready)', startMs: 'start() → ready', warmStartMs: 'warm start()' }
  interface Row {
    measure: (typeof measures)[number]
    implementation: string
    ms: Summary
    ratio?: Summary
  }
  const rows: Row[] = []
  for (const measure of measures) {
    const raw = (trials[RAW] ?? []).map((t) => t[measure])
    for (const implementation of IMPLEMENTATIONS) {
      const values = (trials[implementation] ?? []).map((t) => t[measure])
      rows.push({
        measure,
        implementation,
        ms: summarize(values),
        ...(implementation === RAW ? {} : { ratio: ratioPerRound(values, raw) }),
      })
    }
  }
  console.log(
    formatTable(
      ['measure', 'implementation', 'ms median (min–max)', 'vs raw'],
      rows.map((row) => [
        labels[row.measure],
        row.implementation,
        formatSummary(row.ms, 1),
        row.ratio ? `${row.ratio.median.toFixed(2)}×` : '',
      ]),
      [2, 3],
    ),
  )
  console.log('\nvs raw: median over trials of the per-trial ratio ours/raw (trials interleaved)')
  const headline: Record<string, number> = {}
  for (const row of rows) if (row.ratio) headline[`startup ${labels[row.measure]}`] = row.ratio.median
  if (options.quick) console.log('--quick: results not saved')
  else {
    const file = saveResults(
      new URL('../results/latest.json', import.meta.url),
      'startup',
      {
        date: new Date().toISOString(),
        environment: { ...env, loadAverageAtEnd: environment().loadAverage },
        settings,
        trials,
        summary: rows,
      },
      headline,
    )
    console.log(`results saved to ${file}`)
  }
}
