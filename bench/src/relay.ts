// Scenario `relay`: at-least-once relay of pre-loaded ~1 KiB CBOR events. Ours: a @am/service
// `Service` whose handler publishes one event per incoming event (acked after the confirm, by the
// framework). Baseline, in the same run: a raw amqplib consumer that decodes with cbor-x,
// re-encodes, publishes on a confirm channel and acks after the confirm. Both consume from a
// durable queue and publish to the `events` exchange, where a durable sink queue is bound.
// Each run happens in a child process of its own, so that no run inherits the heap or the JIT
// state of the runs before it; the parent pre-loads the queues, checks the sink and cleans up.
import { fileURLToPath } from 'node:url'
import { brokerVersion, countAckFrames } from './lib/amqp.js'
import { childTask, runInChild } from './lib/child.js'
import {
  brokerLine,
  environment,
  formatRatio,
  formatSummary,
  formatTable,
  parseOptions,
  ratioPerRound,
  type Summary,
  saveResults,
  summarize,
  summarizeThroughput,
  type ThroughputSummary,
} from './lib/harness.js'
import {
  cleanUpRelay,
  OURS,
  OURS_NO_METRICS,
  planRelay,
  prepareRelay,
  RAW,
  type RelayPlan,
  relayBody,
  relayWithAmqplib,
  relayWithService,
} from './lib/relays.js'

const options = parseOptions()
const settings = options.quick
  ? { rounds: 1, messages: 300, warmup: 100, prefetches: options.prefetches ?? [10, 100, 500] }
  : { rounds: options.rounds ?? 5, messages: 50_000, warmup: 5_000, prefetches: options.prefetches ?? [10, 100, 500] }
const body = relayBody

/** What one relay of `messages` events gives. */
interface Run {
  msgsPerSecond: number
  cpuUsPerMessage: number
  ackFramesPerMessage: number
  elapsedMs: number
}

const CHILD = 'BENCH_RELAY_CHILD'
const IMPLEMENTATIONS = [OURS, OURS_NO_METRICS, RAW]

interface ChildTask {
  implementation: string
  plan: RelayPlan
  prefetch: number
  warmup: number
}

/**
 * In the child: one relay run, timed from the end of the warm-up (the first `warmup` messages
 * relayed, while the JIT compiles the hot path) to the last ack sent, with the CPU time spent meanwhile.
 */
async function child({ implementation, plan, prefetch, warmup }: ChildTask): Promise<void> {
  const acks = await countAckFrames()
  let startedAt = 0
  let cpuAtStart: NodeJS.CpuUsage = { user: 0, system: 0 }
  const start = (): void => {
    acks.reset()
    cpuAtStart = process.cpuUsage()
    startedAt = performance.now()
  }
  const hooks = {
    first() {
      if (warmup === 0) start()
    },
    relayed(count: number) {
      if (count === warmup) start()
    },
  }
  const relay =
    implementation === RAW
      ? await relayWithAmqplib(plan, prefetch, hooks)
      : await relayWithService(plan, prefetch, hooks, implementation === OURS)
  await relay.finished
  const elapsedMs = performance.now() - startedAt
  const cpu = process.cpuUsage(cpuAtStart)
  const measured = plan.messages - warmup
  const run: Run = {
    msgsPerSecond: measured / (elapsedMs / 1000),
    cpuUsPerMessage: (cpu.user + cpu.system) / measured,
    ackFramesPerMessage: acks.frames / measured,
    elapsedMs,
  }
  await relay.close()
  process.send?.(run)
}

async function measure(implementation: string, prefetch: number, messages: number): Promise<Run> {
  const plan = planRelay(implementation === RAW ? 'bench-raw-relay' : 'bench-relay', messages)
  await prepareRelay(plan)
  try {
    const task: ChildTask = { implementation, plan, prefetch, warmup: settings.warmup }
    return await runInChild<Run>(fileURLToPath(import.meta.url), CHILD, task)
  } finally {
    await cleanUpRelay(plan)
  }
}

const task = childTask<ChildTask>(CHILD)
if (task) await child(task)
else await parent()

async function parent(): Promise<void> {
  const env = { ...environment(), broker: await brokerVersion() }
  console.log(brokerLine())
  console.log(
    `relay: ${settings.messages.toLocaleString('en-US')} pre-loaded ${body.length} B CBOR events per run (the first ${settings.warmup.toLocaleString('en-US')} as warm-up), relayed to a durable sink queue, ack after confirm; one child process per run`,
  )
  console.log(
    `${env.node}, ${env.platform}-${env.arch}, ${env.cpuCount} × ${env.cpuModel}, ${env.broker}; ${settings.rounds} interleaved round(s)${options.quick ? ' (--quick: not a measurement)' : ''}\n`,
  )

  const runs: Record<string, Record<string, Run[]>> = {}
  for (let round = 0; round < settings.rounds; round++) {
    for (const prefetch of settings.prefetches) {
      const key = String(prefetch)
      runs[key] ??= { [OURS]: [], [OURS_NO_METRICS]: [], [RAW]: [] }
      // rotate who goes first, so that drift in the broker's load spreads over all three
      const order = IMPLEMENTATIONS.map((_, i) => IMPLEMENTATIONS[(i + round) % IMPLEMENTATIONS.length] as string)
      for (const implementation of order) {
        const run = await measure(implementation, prefetch, settings.messages)
        runs[key]?.[implementation]?.push(run)
        console.error(
          `  round ${round + 1}, prefetch ${prefetch}, ${implementation}: ${Math.round(run.msgsPerSecond)} msgs/s, ${run.cpuUsPerMessage.toFixed(1)} µs CPU/msg`,
        )
      }
    }
  }

  interface Row extends ThroughputSummary {
    prefetch: number
    implementation: string
    ackFramesPerMessage: Summary
  }
  const rows: Row[] = []
  for (const prefetch of settings.prefetches) {
    const raw = runs[String(prefetch)]?.[RAW] ?? []
    for (const implementation of IMPLEMENTATIONS) {
      const list = runs[String(prefetch)]?.[implementation] ?? []
      rows.push({
        prefetch,
        implementation,
        ...summarizeThroughput(list, implementation === RAW ? undefined : raw),
        ackFramesPerMessage: summarize(list.map((r) => r.ackFramesPerMessage)),
      })
    }
  }

  console.log(
    formatTable(
      [
        'prefetch',
        'implementation',
        'msgs/s median (min–max)',
        'vs raw',
        'CPU µs/msg median (min–max)',
        'vs raw',
        'acks/msg',
      ],
      rows.map((row) => [
        String(row.prefetch),
        row.implementation,
        formatSummary(row.msgsPerSecond),
        formatRatio(row.throughputRatio),
        formatSummary(row.cpuUsPerMessage, 1),
        formatRatio(row.cpuRatio),
        row.ackFramesPerMessage.median.toFixed(3),
      ]),
      [0, 2, 3, 4, 5, 6],
    ),
  )
  console.log('\nvs raw: median over rounds of the per-round ratio ours/raw; acks/msg: basic.ack frames per message')
  const verdicts = rows
    .filter((row) => row.implementation === OURS && row.throughputRatio && row.cpuRatio)
    .map((row) => {
      const throughput = row.throughputRatio?.median ?? Number.NaN
      const cpu = row.cpuRatio?.median ?? Number.NaN
      // Issue 18's targets: msgs/s ≥ 1.1× raw at prefetch 100 and 500 (prefetch 10: reported, no
      // target), CPU per message ≤ 1.0× raw at every prefetch.
      const throughputTarget = row.prefetch >= 100 ? 1.1 : undefined
      const throughputVerdict =
        throughputTarget === undefined
          ? '(no target)'
          : `(target ≥ ${throughputTarget.toFixed(2)}×${throughput >= throughputTarget ? '' : ' MISSED'})`
      return `prefetch ${row.prefetch}: msgs/s ${throughput.toFixed(2)}× ${throughputVerdict}, CPU/msg ${cpu.toFixed(2)}× (target ≤ 1.00×${cpu <= 1 ? '' : ' MISSED'})`
    })
  for (const verdict of verdicts) console.log(verdict)
  // What the metrics cost: metrics on against metrics off, per round (both are ours, so the
  // baseline's noise does not enter). Target: within 5%.
  const metricsCost = settings.prefetches.map((prefetch) => {
    const on = runs[String(prefetch)]?.[OURS] ?? []
    const off = runs[String(prefetch)]?.[OURS_NO_METRICS] ?? []
    return {
      prefetch,
      throughputRatio: ratioPerRound(
        on.map((r) => r.msgsPerSecond),
        off.map((r) => r.msgsPerSecond),
      ),
      cpuRatio: ratioPerRound(
        on.map((r) => r.cpuUsPerMessage),
        off.map((r) => r.cpuUsPerMessage),
      ),
    }
  })
  for (const { prefetch, throughputRatio, cpuRatio } of metricsCost) {
    const throughput = throughputRatio.median
    const cpu = cpuRatio.median
    console.log(
      `metrics on/off, prefetch ${prefetch}: msgs/s ${formatSummary(throughputRatio, 3)}× (target ≥ 0.95×${throughput >= 0.95 ? '' : ' MISSED'}), CPU/msg ${formatSummary(cpuRatio, 3)}× (target ≤ 1.05×${cpu <= 1.05 ? '' : ' MISSED'})`,
    )
  }

  // The ratios ours/raw that `pnpm bench report` charts over commits, every prefetch.
  const headline: Record<string, number> = {}
  for (const row of rows) {
    if (row.implementation !== OURS) continue
    if (row.throughputRatio) headline[`relay msgs/s p${row.prefetch}`] = row.throughputRatio.median
    if (row.cpuRatio) headline[`relay CPU/msg p${row.prefetch}`] = row.cpuRatio.median
  }
  if (options.quick) console.log('--quick: results not saved')
  else {
    const file = saveResults(
      new URL('../results/latest.json', import.meta.url),
      'relay',
      {
        date: new Date().toISOString(),
        environment: { ...env, loadAverageAtEnd: environment().loadAverage },
        settings: { ...settings, payloadBytes: body.length },
        baseline:
          'amqplib: consume channel + confirm channel on one connection, cbor-x decode/encode, ack per message after its confirm',
        runs,
        summary: rows,
        metricsCost,
      },
      headline,
    )
    console.log(`results saved to ${file}`)
  }
}
