import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { arch, cpus, loadavg, platform } from 'node:os'
import { fileURLToPath } from 'node:url'
import { brokerKind, redact } from './brokers.js'

/** Command-line options shared by every scenario. */
export interface Options {
  /** Tiny payloads and iteration counts: checks that the scenario runs, in about a second. */
  quick: boolean
  /**
   * `--rounds N`: rounds (or trials) instead of the scenario's own number, for a shorter full run
   * on a busy machine (relay, scale, startup, cluster); saved with the settings.
   */
  rounds?: number
  /** `--prefetch 10,500`: only these prefetches (relay), e.g. more rounds of the one in doubt. */
  prefetches?: number[]
}

/** Reads `--quick`, `--rounds N` and `--prefetch N[,N…]`; anything else is a usage error. */
export function parseOptions(argv: string[] = process.argv.slice(2)): Options {
  const options: Options = { quick: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--quick') options.quick = true
    else if (arg === '--rounds' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) options.rounds = Number(argv[++i])
    else if (arg === '--prefetch' && /^[1-9]\d*(,[1-9]\d*)*$/.test(argv[i + 1] ?? ''))
      options.prefetches = (argv[++i] as string).split(',').map(Number)
    else
      throw new Error(`unknown argument ${arg}: usage: node <scenario>.js [--quick] [--rounds N] [--prefetch N[,N…]]`)
  }
  return options
}

/** How long to measure. */
export interface Settings {
  /** Interleaved rounds: every case runs once per round, so drift and GC spread over all of them. */
  rounds: number
  /** Time each case runs before the first round. */
  warmupMs: number
  /** Time each case runs per round. */
  budgetMs: number
}

/** One thing to measure. */
export interface Case {
  measure: string
  payload: string
  implementation: string
  run: () => unknown
}

/** A measured case: ops/s of each round. */
export interface Measured extends Omit<Case, 'run'> {
  opsPerSecond: number[]
  median: number
  min: number
  max: number
}

/** Anything the JIT cannot prove unused. */
export let sink: unknown

function opsPerSecond(run: () => unknown, budgetMs: number): number {
  let operations = 0
  let batch = 1
  const start = performance.now()
  let elapsed = 0
  while (elapsed < budgetMs) {
    for (let i = 0; i < batch; i++) sink = run()
    operations += batch
    elapsed = performance.now() - start
    if (elapsed < budgetMs / 20) batch *= 2 // fewer clock reads once the case is known to be fast
  }
  return operations / (elapsed / 1000)
}

/** Warms every case up, then measures all of them in `rounds` interleaved rounds. */
export function measureCases(cases: Case[], settings: Settings): Measured[] {
  for (const { run } of cases) opsPerSecond(run, settings.warmupMs)
  const samples = cases.map(() => [] as number[])
  for (let round = 0; round < settings.rounds; round++) {
    cases.forEach(({ run }, index) => {
      samples[index]?.push(opsPerSecond(run, settings.budgetMs))
    })
  }
  return cases.map(({ run: _run, ...meta }, index) => {
    const values = samples[index] ?? []
    return { ...meta, opsPerSecond: values, median: median(values), min: Math.min(...values), max: Math.max(...values) }
  })
}

/** The median of `values`. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** Formats ops/s with thousands separators. */
export function formatOps(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

/** Lays rows out as an aligned text table; columns listed in `right` are right-aligned. */
export function formatTable(header: string[], rows: string[][], right: number[] = []): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) =>
        right.includes(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd()
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n')
}

/** Where the numbers come from. */
export interface Environment {
  node: string
  v8: string
  platform: string
  arch: string
  cpuModel: string
  cpuCount: number
  /** 1, 5 and 15 min load averages when the scenario started: the machine is shared. */
  loadAverage: number[]
  /** `default` (`AMQP_URL`, else the machine's node) or `ram` (a throwaway node with its storage in tmpfs). */
  brokerKind: string
  /** The broker's URL, credentials masked. */
  brokerUrl: string
}

/** Describes this machine and runtime. */
export function environment(): Environment {
  const list = cpus()
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    arch: arch(),
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
    brokerKind: brokerKind(),
    brokerUrl: redact(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/am-test'),
  }
}

/** One line saying which broker a scenario runs against, for its header. */
export function brokerLine(): string {
  const kind = brokerKind()
  const url = redact(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/am-test')
  return kind === 'ram'
    ? `broker: throwaway node with its storage in RAM (tmpfs), ${url}`
    : `broker: default (${url}, storage on disk)`
}

/**
 * Writes a scenario's results into the shared JSON file (`latest.json`, not committed), keeping
 * the other scenarios' entries, and appends them to the history: `bench/results/<date>-<commit>.json`
 * (committed), one file per day and commit, one entry per scenario and broker (`relay`,
 * `relay@ram`). `headline` holds the ratios ours/raw (and other single figures) that
 * `pnpm bench report` charts over commits. Returns the path of the history file.
 */
export function saveResults(
  file: URL,
  scenario: string,
  results: unknown,
  headline: Record<string, number> = {},
): string {
  const key = brokerKind() === 'default' ? scenario : `${scenario}@${brokerKind()}`
  const path = fileURLToPath(file)
  mkdirSync(fileURLToPath(new URL('.', file)), { recursive: true })
  const all = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {}
  all[key] = results
  writeFileSync(path, `${JSON.stringify(all, null, 2)}\n`)

  const { commit, dirty } = RUN_COMMIT
  const date = new Date().toISOString().slice(0, 10)
  const historyPath = fileURLToPath(new URL(`${date}-${commit}.json`, file))
  const history: History = existsSync(historyPath)
    ? (JSON.parse(readFileSync(historyPath, 'utf8')) as History)
    : { date, commit, scenarios: {} }
  history.scenarios[key] = { savedAt: new Date().toISOString(), dirty, broker: brokerKind(), headline, results }
  writeFileSync(historyPath, `${JSON.stringify(history, null, 2)}\n`)
  return historyPath
}

/** A history file: the full runs of one day at one commit. */
export interface History {
  date: string
  commit: string
  scenarios: Record<
    string,
    { savedAt: string; dirty: boolean; broker: string; headline: Record<string, number>; results: unknown }
  >
}

/**
 * The commit measured: `BENCH_COMMIT` / `BENCH_DIRTY` when scripts/bench.mjs set them (once for the
 * whole run, so that a commit made meanwhile does not split it), else HEAD when the scenario started.
 */
const RUN_COMMIT: { commit: string; dirty: boolean } = process.env.BENCH_COMMIT
  ? { commit: process.env.BENCH_COMMIT, dirty: process.env.BENCH_DIRTY === 'true' }
  : gitCommit()

/** The short hash of HEAD, and whether the work tree had changes (figures of uncommitted code). */
export function gitCommit(): { commit: string; dirty: boolean } {
  try {
    const cwd = fileURLToPath(new URL('../..', import.meta.url)) // bench/dist → the repository
    const commit = execFileSync('git', ['rev-parse', '--short=8', 'HEAD'], { cwd, encoding: 'utf8' }).trim()
    const status = execFileSync('git', ['status', '--porcelain', '--', 'packages', 'bench/src'], {
      cwd,
      encoding: 'utf8',
    })
    return { commit, dirty: status.trim() !== '' }
  } catch {
    return { commit: 'unknown', dirty: true }
  }
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] as number
}

/** Median and range of one figure over the rounds. */
export interface Summary {
  median: number
  min: number
  max: number
  rounds: number[]
}

/** Summarises one figure measured once per round. */
export function summarize(rounds: number[]): Summary {
  return { median: median(rounds), min: Math.min(...rounds), max: Math.max(...rounds), rounds }
}

/** The median over rounds of the per-round ratio `ours[i] / baseline[i]`. */
export function ratioPerRound(ours: number[], baseline: number[]): Summary {
  return summarize(ours.map((value, round) => value / (baseline[round] ?? Number.NaN)))
}

/** What the throughput scenarios measure in each run. */
export interface ThroughputRun {
  msgsPerSecond: number
  cpuUsPerMessage: number
}

/** Throughput and CPU per message over rounds and, for all but the baseline, their per-round ratios to it. */
export interface ThroughputSummary {
  msgsPerSecond: Summary
  cpuUsPerMessage: Summary
  throughputRatio?: Summary
  cpuRatio?: Summary
}

/** Summarises `runs` (one per round); with `baseline` (its runs, same rounds) adds the ratios ours/baseline. */
export function summarizeThroughput(runs: ThroughputRun[], baseline?: ThroughputRun[]): ThroughputSummary {
  const msgsPerSecond = runs.map((r) => r.msgsPerSecond)
  const cpuUsPerMessage = runs.map((r) => r.cpuUsPerMessage)
  return {
    msgsPerSecond: summarize(msgsPerSecond),
    cpuUsPerMessage: summarize(cpuUsPerMessage),
    ...(baseline
      ? {
          throughputRatio: ratioPerRound(
            msgsPerSecond,
            baseline.map((r) => r.msgsPerSecond),
          ),
          cpuRatio: ratioPerRound(
            cpuUsPerMessage,
            baseline.map((r) => r.cpuUsPerMessage),
          ),
        }
      : {}),
  }
}

/** A ratio's median as `1.23×`, or nothing (the baseline's own row). */
export function formatRatio(ratio: Summary | undefined): string {
  return ratio ? `${ratio.median.toFixed(2)}×` : ''
}

/** `median (min–max)` with `digits` decimals, or thousands separators when `digits` is omitted. */
export function formatSummary(summary: Summary, digits?: number): string {
  const f = (value: number): string => (digits === undefined ? formatOps(value) : value.toFixed(digits))
  return `${f(summary.median)} (${f(summary.min)}–${f(summary.max)})`
}
