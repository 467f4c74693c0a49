// Scenario `schema`: what a payload schema costs on the relay. The same @am/service relay as
// scenario `relay` (pre-loaded ~1 KiB CBOR events, one event published per event, ack after the
// confirm), run in the same rounds three ways: without a schema; with a small zod schema on the
// handler-table entry (checked before the handler, which gets zod's output); and with that schema
// plus `validateOutputs` (the published event checked against its declared schema too). The figures
// are ratios against the run without a schema, per round, so the broker's drift cancels out.
// Each run happens in a child process of its own, as in `relay`.
import { fileURLToPath } from 'node:url'
import { decode } from '@am/codec'
import { type Handlers, type Publications, Service, type StandardSchemaV1 } from '@am/service'
import { z } from 'zod'
import { brokerVersion, url } from './lib/amqp.js'
import { childTask, runInChild } from './lib/child.js'
import {
  environment,
  formatOps,
  formatSummary,
  formatTable,
  measureCases,
  parseOptions,
  saveResults,
  summarize,
  summarizeThroughput,
  type ThroughputSummary,
} from './lib/harness.js'
import { cleanUpRelay, planRelay, prepareRelay, type RelayPlan, relayBody } from './lib/relays.js'

const options = parseOptions()
const settings = options.quick
  ? { rounds: 1, messages: 300, warmup: 100, prefetches: [100] }
  : { rounds: 5, messages: 20_000, warmup: 2_000, prefetches: [10, 100] }

const NONE = 'no schema'
const INPUT = 'zod schema on input'
const BOTH = 'zod on input + validateOutputs'
const IMPLEMENTATIONS = [NONE, INPUT, BOTH]

/**
 * A small schema of the relayed event (bench/src/lib/payload.ts): its top-level fields, the
 * customer, and two fields of each line. Loose objects keep the other fields, so that the event
 * relayed is the same with and without the schema.
 */
const OrderPlaced = z.looseObject({
  id: z.string(),
  type: z.literal('OrderPlaced'),
  occurredAt: z.number().int(),
  customer: z.looseObject({ name: z.string(), email: z.string(), vip: z.boolean() }),
  total: z.number(),
  lines: z.array(z.looseObject({ sku: z.string(), quantity: z.number().int().nonnegative() })),
})

/** What one relay run gives. */
interface Run {
  msgsPerSecond: number
  cpuUsPerMessage: number
  elapsedMs: number
}

const CHILD = 'BENCH_SCHEMA_CHILD'

interface ChildTask {
  implementation: string
  plan: RelayPlan
  prefetch: number
  warmup: number
}

/** In the child: one relay run, timed from the end of the warm-up to the last ack, with its CPU time. */
async function child({ implementation, plan, prefetch, warmup }: ChildTask): Promise<void> {
  const { name, inKey, outKey, messages } = plan
  const schema: StandardSchemaV1 | undefined = implementation === NONE ? undefined : OrderPlaced
  let startedAt = 0
  let cpuAtStart: NodeJS.CpuUsage = { user: 0, system: 0 }
  let count = 0
  let done: () => void = () => {}
  const allRelayed = new Promise<void>((resolve) => {
    done = resolve
  })
  const start = (): void => {
    cpuAtStart = process.cpuUsage()
    startedAt = performance.now()
  }
  const handler = async (payload: unknown, ctx: { publishEvent(key: string, payload: unknown): Promise<void> }) => {
    if (count === 0 && warmup === 0) start()
    await ctx.publishEvent(outKey, payload)
    count += 1
    if (count === warmup) start()
    if (count === messages) done()
  }
  class Relay extends Service {
    readonly name = name
    protected handlers(): Handlers {
      return { events: { [inKey]: schema ? { schema, handler } : handler } }
    }
    protected override publishes(): Publications {
      return { events: { [outKey]: implementation === BOTH ? OrderPlaced : true } }
    }
  }
  const service = new Relay({
    urls: url,
    prefetch,
    handleSignals: false,
    validateOutputs: implementation === BOTH,
  })
  await service.start()
  await allRelayed
  // The framework acks once the handler's publish is confirmed, on a later turn of the loop.
  while ((service.supervisor?.stats().unsettled ?? 0) > 0) await new Promise((resolve) => setImmediate(resolve))
  const elapsedMs = performance.now() - startedAt
  const cpu = process.cpuUsage(cpuAtStart)
  const measured = messages - warmup
  const run: Run = {
    msgsPerSecond: measured / (elapsedMs / 1000),
    cpuUsPerMessage: (cpu.user + cpu.system) / measured,
    elapsedMs,
  }
  await service.stop()
  process.send?.(run)
}

async function measure(implementation: string, prefetch: number): Promise<Run> {
  const plan = planRelay('bench-schema', settings.messages)
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
  console.log(
    `schema: the relay of scenario relay (${settings.messages.toLocaleString('en-US')} pre-loaded ${relayBody.length} B CBOR events per run, the first ${settings.warmup.toLocaleString('en-US')} as warm-up) without a schema, with a small zod schema on its input, and with validateOutputs too; one child process per run`,
  )
  console.log(
    `${env.node}, ${env.platform}-${env.arch}, ${env.cpuCount} × ${env.cpuModel}, ${env.broker}; ${settings.rounds} interleaved round(s)${options.quick ? ' (--quick: not a measurement)' : ''}\n`,
  )

  // The check alone, in this process: zod's `~standard.validate` on the decoded relay payload.
  const payload = decode(relayBody, 'application/cbor')
  const validate = OrderPlaced['~standard'].validate
  const [alone] = measureCases(
    [
      {
        measure: 'check',
        payload: `${relayBody.length} B`,
        implementation: 'zod ~standard.validate',
        run: () => validate(payload),
      },
    ],
    options.quick ? { rounds: 1, warmupMs: 20, budgetMs: 50 } : { rounds: 5, warmupMs: 500, budgetMs: 1_000 },
  )
  const checkUs = (ops: number): string => (1e6 / ops).toFixed(2)
  if (alone) {
    console.log(
      `the check alone: ${formatOps(alone.median)} checks/s (${formatOps(alone.min)}–${formatOps(alone.max)}), ${checkUs(alone.median)} µs per check (wall clock)\n`,
    )
  }

  const runs: Record<string, Record<string, Run[]>> = {}
  for (let round = 0; round < settings.rounds; round++) {
    for (const prefetch of settings.prefetches) {
      const key = String(prefetch)
      runs[key] ??= Object.fromEntries(IMPLEMENTATIONS.map((implementation) => [implementation, []]))
      // rotate who goes first, so that drift in the broker's load spreads over all three
      const order = IMPLEMENTATIONS.map((_, i) => IMPLEMENTATIONS[(i + round) % IMPLEMENTATIONS.length] as string)
      for (const implementation of order) {
        const run = await measure(implementation, prefetch)
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
  }
  const rows: Row[] = []
  for (const prefetch of settings.prefetches) {
    const none = runs[String(prefetch)]?.[NONE] ?? []
    for (const implementation of IMPLEMENTATIONS) {
      const list = runs[String(prefetch)]?.[implementation] ?? []
      rows.push({ prefetch, implementation, ...summarizeThroughput(list, implementation === NONE ? undefined : none) })
    }
  }

  console.log(
    formatTable(
      [
        'prefetch',
        'implementation',
        'msgs/s median (min–max)',
        'vs no schema',
        'CPU µs/msg median (min–max)',
        'vs no schema',
      ],
      rows.map((row) => [
        String(row.prefetch),
        row.implementation,
        formatSummary(row.msgsPerSecond),
        row.throughputRatio ? `${formatSummary(row.throughputRatio, 3)}×` : '',
        formatSummary(row.cpuUsPerMessage, 1),
        row.cpuRatio ? `${formatSummary(row.cpuRatio, 3)}×` : '',
      ]),
      [0, 2, 3, 4, 5],
    ),
  )
  console.log('\nvs no schema: median (min–max) over rounds of the per-round ratio with schema / without')
  // The cost in µs of CPU per message: per round, with schema minus without.
  const cost = rows
    .filter((row) => row.implementation !== NONE)
    .map((row) => {
      const none = runs[String(row.prefetch)]?.[NONE] ?? []
      const list = runs[String(row.prefetch)]?.[row.implementation] ?? []
      const addedUs = summarize(
        list.map((r, round) => r.cpuUsPerMessage - (none[round]?.cpuUsPerMessage ?? Number.NaN)),
      )
      return { prefetch: row.prefetch, implementation: row.implementation, addedCpuUsPerMessage: addedUs }
    })
  for (const { prefetch, implementation, addedCpuUsPerMessage } of cost) {
    console.log(
      `schema cost, prefetch ${prefetch}, ${implementation}: ${formatSummary(addedCpuUsPerMessage, 1)} µs CPU/msg added`,
    )
  }

  if (options.quick) console.log('--quick: results not saved')
  else {
    const file = saveResults(new URL('../results/latest.json', import.meta.url), 'schema', {
      date: new Date().toISOString(),
      environment: { ...env, loadAverageAtEnd: environment().loadAverage },
      settings: { ...settings, payloadBytes: relayBody.length },
      schema: 'zod 4 looseObject: 6 top-level fields, customer (3 fields), lines (2 fields each)',
      runs,
      checkAlone: alone,
      summary: rows,
      cost,
    })
    console.log(`results saved to ${file}`)
  }
}
