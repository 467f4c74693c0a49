// Scenario `scale`: 1, 2 and 4 relay processes sharing one queue, ours (a @am/service `Service`
// per process, all with the same service name, hence the same `<name>.events` queue) next to the
// same number of raw amqplib relay processes (lib/relays.ts, the `relay` scenario's baseline).
// The parent pre-loads the queue, forks the instances, lets them load their modules, starts them
// together, and measures from the end of the warm-up (counted over all instances) to the last
// message relayed: total msgs/s, each instance's msgs/s, and client CPU per message (all instances'
// CPU time over the window, over the messages they relayed in it).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { brokerVersion } from './lib/amqp.js'
import { childTask } from './lib/child.js'
import {
  brokerLine,
  environment,
  formatRatio,
  formatSummary,
  formatTable,
  parseOptions,
  type Summary,
  saveResults,
  summarize,
  summarizeThroughput,
  type ThroughputSummary,
} from './lib/harness.js'
import {
  cleanUpRelay,
  OURS,
  planRelay,
  prepareRelay,
  RAW,
  type RelayPlan,
  type RelayRun,
  relayBody,
  relayWithAmqplib,
  relayWithService,
} from './lib/relays.js'

const options = parseOptions()
const settings = options.quick
  ? { rounds: 1, messages: 3_000, warmup: 300, prefetch: 100, instances: [1, 2, 4] }
  : { rounds: options.rounds ?? 3, messages: 20_000, warmup: 2_000, prefetch: 100, instances: [1, 2, 4] }
const IMPLEMENTATIONS = [OURS, RAW]
const CHILD = 'BENCH_SCALE_CHILD'

interface ChildTask {
  implementation: string
  plan: RelayPlan
  prefetch: number
}

/** Parent → instance. */
type Command = { type: 'go' } | { type: 'mark' } | { type: 'report' }
/** Instance → parent. */
type Message =
  | { type: 'loaded' }
  | { type: 'started' }
  | { type: 'progress'; count: number }
  | { type: 'report'; count: number; cpuUs: number }

/** In an instance: relays until told to report; counts (and reports every 100 messages and every 20 ms). */
async function child({ implementation, plan, prefetch }: ChildTask): Promise<void> {
  const send = (message: Message): void => void process.send?.(message)
  let count = 0
  let sent = 0
  let markCount = 0
  let markCpu: NodeJS.CpuUsage = { user: 0, system: 0 }
  let relay: RelayRun | undefined
  const flush = setInterval(() => {
    if (count !== sent) {
      sent = count
      send({ type: 'progress', count })
    }
  }, 20)
  const hooks = {
    first() {},
    relayed(n: number) {
      count = n
      if (n % 100 === 0) {
        sent = n
        send({ type: 'progress', count: n })
      }
    },
  }
  // The instance never finishes by itself: the other instances share the queue.
  const endless = { ...plan, messages: Number.MAX_SAFE_INTEGER }
  process.on('message', (command: Command) => {
    void (async () => {
      if (command.type === 'go') {
        relay =
          implementation === RAW
            ? await relayWithAmqplib(endless, prefetch, hooks)
            : await relayWithService(endless, prefetch, hooks, true)
        send({ type: 'started' })
      } else if (command.type === 'mark') {
        markCpu = process.cpuUsage()
        markCount = count
      } else {
        const cpu = process.cpuUsage(markCpu)
        clearInterval(flush)
        send({ type: 'report', count: count - markCount, cpuUs: cpu.user + cpu.system })
        await relay?.close()
        process.disconnect()
      }
    })()
  })
  send({ type: 'loaded' })
}

/** What one run of `instances` processes gives. */
interface Run {
  msgsPerSecond: number
  perInstanceMsgsPerSecond: number[]
  cpuUsPerMessage: number
  windowMs: number
}

async function measure(implementation: string, instances: number): Promise<Run> {
  const plan = planRelay(implementation === RAW ? 'bench-raw-scale' : 'bench-scale', settings.messages)
  await prepareRelay(plan)
  try {
    return await runInstances({ implementation, plan, prefetch: settings.prefetch }, instances)
  } finally {
    await cleanUpRelay(plan)
  }
}

function runInstances(task: ChildTask, instances: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(import.meta.url)
    const children = Array.from({ length: instances }, () =>
      fork(script, [], {
        env: { ...process.env, [CHILD]: JSON.stringify(task) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    )
    const counts = children.map(() => 0)
    const reports: Array<{ count: number; cpuUs: number } | undefined> = children.map(() => undefined)
    let loaded = 0
    let started = 0
    let markedAt = 0
    let endedAt = 0
    const broadcast = (command: Command): void => {
      for (const c of children) c.send(command)
    }
    children.forEach((c, index) => {
      c.on('message', (message: Message) => {
        if (message.type === 'loaded') {
          loaded += 1
          if (loaded === instances) broadcast({ type: 'go' })
        } else if (message.type === 'started') started += 1
        else if (message.type === 'progress') counts[index] = message.count
        else {
          reports[index] = { count: message.count, cpuUs: message.cpuUs }
          if (reports.every((r) => r !== undefined)) {
            const windowMs = endedAt - markedAt
            const done = reports as Array<{ count: number; cpuUs: number }>
            const relayed = done.reduce((sum, r) => sum + r.count, 0)
            resolve({
              msgsPerSecond: relayed / (windowMs / 1000),
              perInstanceMsgsPerSecond: done.map((r) => r.count / (windowMs / 1000)),
              cpuUsPerMessage: done.reduce((sum, r) => sum + r.cpuUs, 0) / relayed,
              windowMs,
            })
          }
          return
        }
        const total = counts.reduce((sum, n) => sum + n, 0)
        if (!markedAt && started === instances && total >= settings.warmup) {
          markedAt = performance.now()
          broadcast({ type: 'mark' })
        }
        if (markedAt && !endedAt && total >= settings.messages) {
          endedAt = performance.now()
          broadcast({ type: 'report' })
        }
      })
      c.on('error', reject)
      c.on('exit', (code) => {
        if (code !== 0) reject(new Error(`an instance exited with code ${code}`))
      })
    })
  })
}

const task = childTask<ChildTask>(CHILD)
if (task) await child(task)
else await parent()

async function parent(): Promise<void> {
  const env = { ...environment(), broker: await brokerVersion() }
  console.log(brokerLine())
  console.log(
    `scale: ${settings.instances.join(', ')} relay processes sharing one durable queue of ${settings.messages.toLocaleString('en-US')} pre-loaded ${relayBody.length} B CBOR events (the first ${settings.warmup.toLocaleString('en-US')}, over all instances, as warm-up), prefetch ${settings.prefetch} per instance, ack after confirm`,
  )
  console.log(
    `${env.node}, ${env.platform}-${env.arch}, ${env.cpuCount} × ${env.cpuModel}, ${env.broker}; ${settings.rounds} interleaved round(s)${options.quick ? ' (--quick: not a measurement)' : ''}\n`,
  )
  const runs: Record<string, Record<string, Run[]>> = {}
  for (let round = 0; round < settings.rounds; round++) {
    for (const instances of settings.instances) {
      const key = String(instances)
      runs[key] ??= { [OURS]: [], [RAW]: [] }
      const order = round % 2 === 0 ? IMPLEMENTATIONS : [...IMPLEMENTATIONS].reverse()
      for (const implementation of order) {
        const run = await measure(implementation, instances)
        runs[key]?.[implementation]?.push(run)
        console.error(
          `  round ${round + 1}, ${instances} instance(s), ${implementation}: ${Math.round(run.msgsPerSecond)} msgs/s (${run.perInstanceMsgsPerSecond.map((v) => Math.round(v)).join(' + ')}), ${run.cpuUsPerMessage.toFixed(1)} µs CPU/msg`,
        )
      }
    }
  }

  interface Row extends ThroughputSummary {
    instances: number
    implementation: string
    perInstance: Summary
  }
  const rows: Row[] = []
  for (const instances of settings.instances) {
    const raw = runs[String(instances)]?.[RAW] ?? []
    for (const implementation of IMPLEMENTATIONS) {
      const list = runs[String(instances)]?.[implementation] ?? []
      rows.push({
        instances,
        implementation,
        ...summarizeThroughput(list, implementation === RAW ? undefined : raw),
        perInstance: summarize(list.flatMap((r) => r.perInstanceMsgsPerSecond)),
      })
    }
  }
  console.log(
    formatTable(
      [
        'instances',
        'implementation',
        'total msgs/s median (min–max)',
        'vs raw',
        'per instance msgs/s median (min–max)',
        'CPU µs/msg median (min–max)',
        'vs raw',
      ],
      rows.map((row) => [
        String(row.instances),
        row.implementation,
        formatSummary(row.msgsPerSecond),
        formatRatio(row.throughputRatio),
        formatSummary(row.perInstance),
        formatSummary(row.cpuUsPerMessage, 1),
        formatRatio(row.cpuRatio),
      ]),
      [0, 2, 3, 4, 5, 6],
    ),
  )
  console.log(
    '\nvs raw: median over rounds of the per-round ratio ours/raw; per instance: every instance of every round; CPU: all instances together, per message',
  )
  const headline: Record<string, number> = {}
  for (const row of rows) {
    if (row.throughputRatio) headline[`scale msgs/s ×${row.instances}`] = row.throughputRatio.median
    if (row.cpuRatio) headline[`scale CPU/msg ×${row.instances}`] = row.cpuRatio.median
  }
  if (options.quick) console.log('--quick: results not saved')
  else {
    const file = saveResults(
      new URL('../results/latest.json', import.meta.url),
      'scale',
      {
        date: new Date().toISOString(),
        environment: { ...env, loadAverageAtEnd: environment().loadAverage },
        settings: { ...settings, payloadBytes: relayBody.length },
        runs,
        summary: rows,
      },
      headline,
    )
    console.log(`results saved to ${file}`)
  }
}
