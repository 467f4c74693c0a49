// Scenario `memory`: RSS and heap over a long at-least-once relay (the `relay` scenario's, prefetch
// 100). Each run happens in a child process of its own (`--expose-gc`), so that runs do not share
// a heap; the child samples memory after a full GC every `sampleEvery` messages. Ours: a
// @am/service `Service`; baseline, in the same run: the raw amqplib relay.
import { fileURLToPath } from 'node:url'
import { brokerVersion } from './lib/amqp.js'
import { childTask, runInChild } from './lib/child.js'
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
import {
  cleanUpRelay,
  OURS,
  planRelay,
  prepareRelay,
  RAW,
  type RelayPlan,
  relayBody,
  relayWithAmqplib,
  relayWithService,
} from './lib/relays.js'

const CHILD = 'BENCH_MEMORY_CHILD'
const PREFETCH = 100
/** Heap growth after warm-up that still counts as flat, in bytes per message (≈ 1 MiB per 100,000 messages). */
const FLAT_HEAP = 10
/** The same for RSS, which moves in allocator-sized steps (≈ 5 MiB per 100,000 messages). */
const FLAT_RSS = 50

/** Memory after a full GC, once `messages` were relayed. */
interface Sample {
  messages: number
  rss: number
  heapUsed: number
  external: number
}

/** What a child reports. */
interface ChildReport {
  samples: Sample[]
  elapsedMs: number
}

interface ChildTask {
  implementation: string
  plan: RelayPlan
  sampleEvery: number
}

const task = childTask<ChildTask>(CHILD)
if (task) await child(task)
else await parent()

async function child({ implementation, plan, sampleEvery }: ChildTask): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run the memory child with --expose-gc')
  const samples: Sample[] = []
  const sample = (messages: number): void => {
    gc()
    const { rss, heapUsed, external } = process.memoryUsage()
    samples.push({ messages, rss, heapUsed, external })
  }
  let startedAt = 0
  const relay = await (implementation === OURS ? relayWithService : relayWithAmqplib)(plan, PREFETCH, {
    first() {
      startedAt = performance.now()
    },
    relayed(count) {
      // outside the handler's turn, as a timer or an I/O callback would see the heap
      if (count % sampleEvery === 0 && count < plan.messages) setImmediate(sample, count)
    },
  })
  await relay.finished
  const elapsedMs = performance.now() - startedAt
  sample(plan.messages)
  await relay.close()
  const report: ChildReport = { samples, elapsedMs }
  process.send?.(report)
}

/** Least-squares slope of `value` against messages, in bytes per message. */
function slope(samples: Sample[], value: (s: Sample) => number): number {
  const n = samples.length
  if (n < 2) return Number.NaN
  const mx = samples.reduce((sum, s) => sum + s.messages, 0) / n
  const my = samples.reduce((sum, s) => sum + value(s), 0) / n
  let covariance = 0
  let variance = 0
  for (const s of samples) {
    covariance += (s.messages - mx) * (value(s) - my)
    variance += (s.messages - mx) ** 2
  }
  return covariance / variance
}

/** The figures of one run: first sample after warm-up, last sample, and the trend in between. */
interface Figures {
  msgsPerSecond: number
  heapFirst: number
  heapLast: number
  heapSlope: number
  rssFirst: number
  rssLast: number
  rssSlope: number
}

function figures(report: ChildReport, warmup: number, messages: number): Figures {
  const after = report.samples.filter((s) => s.messages >= warmup)
  const first = after[0] as Sample
  const last = after[after.length - 1] as Sample
  return {
    msgsPerSecond: messages / (report.elapsedMs / 1000),
    heapFirst: first.heapUsed,
    heapLast: last.heapUsed,
    heapSlope: slope(after, (s) => s.heapUsed),
    rssFirst: first.rss,
    rssLast: last.rss,
    rssSlope: slope(after, (s) => s.rss),
  }
}

async function parent(): Promise<void> {
  const options = parseOptions()
  const settings = options.quick
    ? { rounds: 1, messages: 2_000, sampleEvery: 200, warmup: 400 }
    : { rounds: 3, messages: 200_000, sampleEvery: 5_000, warmup: 20_000 }
  const env = { ...environment(), broker: await brokerVersion() }
  console.log(brokerLine())
  console.log(
    `memory: ${settings.messages.toLocaleString('en-US')} ${relayBody.length} B events relayed at prefetch ${PREFETCH}, one child process per run; RSS and heap after a full GC every ${settings.sampleEvery.toLocaleString('en-US')} messages; warm-up ${settings.warmup.toLocaleString('en-US')} messages`,
  )
  console.log(
    `${env.node}, ${env.platform}-${env.arch}, ${env.cpuCount} × ${env.cpuModel}, ${env.broker}; ${settings.rounds} interleaved round(s)${options.quick ? ' (--quick: not a measurement)' : ''}\n`,
  )

  const reports: Record<string, ChildReport[]> = { [OURS]: [], [RAW]: [] }
  const measured: Record<string, Figures[]> = { [OURS]: [], [RAW]: [] }
  for (let round = 0; round < settings.rounds; round++) {
    for (const implementation of round % 2 === 0 ? [OURS, RAW] : [RAW, OURS]) {
      const plan = planRelay(implementation === OURS ? 'bench-memory' : 'bench-raw-memory', settings.messages)
      await prepareRelay(plan)
      let report: ChildReport
      try {
        const childTask: ChildTask = { implementation, plan, sampleEvery: settings.sampleEvery }
        report = await runInChild<ChildReport>(fileURLToPath(import.meta.url), CHILD, childTask, ['--expose-gc'])
      } finally {
        await cleanUpRelay(plan)
      }
      const result = figures(report, settings.warmup, settings.messages)
      reports[implementation]?.push(report)
      measured[implementation]?.push(result)
      console.error(
        `  round ${round + 1}, ${implementation}: heap ${mib(result.heapFirst)} → ${mib(result.heapLast)} MiB (${result.heapSlope.toFixed(2)} B/msg), RSS ${mib(result.rssFirst)} → ${mib(result.rssLast)} MiB (${result.rssSlope.toFixed(2)} B/msg)`,
      )
    }
  }

  const pick = (implementation: string, key: keyof Figures): Summary =>
    summarize((measured[implementation] ?? []).map((f) => f[key]))
  const ratio = (key: keyof Figures): Summary =>
    ratioPerRound(
      (measured[OURS] ?? []).map((f) => f[key]),
      (measured[RAW] ?? []).map((f) => f[key]),
    )
  const rows = [OURS, RAW].map((implementation) => ({
    implementation,
    heapFirst: pick(implementation, 'heapFirst'),
    heapLast: pick(implementation, 'heapLast'),
    heapSlope: pick(implementation, 'heapSlope'),
    rssFirst: pick(implementation, 'rssFirst'),
    rssLast: pick(implementation, 'rssLast'),
    rssSlope: pick(implementation, 'rssSlope'),
    msgsPerSecond: pick(implementation, 'msgsPerSecond'),
  }))
  const inMib = (s: Summary): Summary => ({
    median: s.median / 2 ** 20,
    min: s.min / 2 ** 20,
    max: s.max / 2 ** 20,
    rounds: s.rounds,
  })
  console.log(
    formatTable(
      [
        'implementation',
        'heap MiB after warm-up',
        'heap MiB last',
        'heap trend B/msg',
        'RSS MiB after warm-up',
        'RSS MiB last',
        'RSS trend B/msg',
        'msgs/s',
      ],
      rows.map((row) => [
        row.implementation,
        formatSummary(inMib(row.heapFirst), 1),
        formatSummary(inMib(row.heapLast), 1),
        formatSummary(row.heapSlope, 2),
        formatSummary(inMib(row.rssFirst), 1),
        formatSummary(inMib(row.rssLast), 1),
        formatSummary(row.rssSlope, 2),
        formatSummary(row.msgsPerSecond),
      ]),
      [1, 2, 3, 4, 5, 6, 7],
    ),
  )
  const ratios = { heapLast: ratio('heapLast'), rssLast: ratio('rssLast') }
  const ours = rows[0] as (typeof rows)[number]
  const flat = ours.heapSlope.median <= FLAT_HEAP && ours.rssSlope.median <= FLAT_RSS
  console.log(
    `\nmedian (min–max) over rounds; trend: least-squares slope after warm-up. Ours/raw, last sample: heap ${ratios.heapLast.median.toFixed(2)}×, RSS ${ratios.rssLast.median.toFixed(2)}×`,
  )
  console.log(
    `ours: heap ${ours.heapSlope.median.toFixed(2)} B/msg (flat ≤ ${FLAT_HEAP}), RSS ${ours.rssSlope.median.toFixed(2)} B/msg (flat ≤ ${FLAT_RSS}); target: no upward trend after warm-up${options.quick || flat ? '' : ' MISSED'}`,
  )

  if (options.quick) console.log('--quick: results not saved')
  else {
    const file = saveResults(new URL('../results/latest.json', import.meta.url), 'memory', {
      date: new Date().toISOString(),
      environment: { ...env, loadAverageAtEnd: environment().loadAverage },
      settings: {
        ...settings,
        prefetch: PREFETCH,
        payloadBytes: relayBody.length,
        flatHeap: FLAT_HEAP,
        flatRss: FLAT_RSS,
      },
      baseline: 'the raw amqplib relay of the relay scenario',
      runs: measured,
      samples: reports,
      summary: rows,
      ratios,
    })
    console.log(`results saved to ${file}`)
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1)
}
