// Scenario `codec`: encode, decode and round-trip throughput of @am/codec against bare cbor-x
// and bare JSON, for a ~1 KiB and a ~64 KiB event body. Run by scripts/bench.mjs.
import { deepStrictEqual } from 'node:assert/strict'
import { createRequire } from 'node:module'
import { CBOR, decode, encode, JSON_CONTENT_TYPE } from '@am/codec'
import { Encoder, isNativeAccelerationEnabled } from 'cbor-x'
import {
  type Case,
  environment,
  formatOps,
  formatTable,
  type Measured,
  measureCases,
  median,
  parseOptions,
  type Settings,
  saveResults,
} from './lib/harness.js'
import { makePayload } from './lib/payload.js'

const AM_CBOR = '@am/codec CBOR'
const CBOR_X = 'cbor-x'
const AM_JSON = '@am/codec JSON'
const BARE_JSON = 'JSON + Buffer'
const MEASURES = ['encode', 'decode', 'round trip'] as const
const GOAL = 0.95

const options = parseOptions()
const settings: Settings = options.quick
  ? { rounds: 3, warmupMs: 5, budgetMs: 10 }
  : { rounds: 7, warmupMs: 250, budgetMs: 200 }
const payloads = options.quick
  ? [
      { name: 'tiny', items: 1 },
      { name: 'small', items: 8 },
    ]
  : [
      { name: '~1 KiB', items: 4 },
      { name: '~64 KiB', items: 349 },
    ]

// cbor-x as its README shows it, without records so that the output is plain CBOR
const cborX = new Encoder({ useRecords: false })
const cborXVersion = (createRequire(import.meta.url)('cbor-x/package.json') as { version: string }).version

const cases: Case[] = []
const sizes: Record<string, Record<string, number>> = {}
for (const { name, items } of payloads) {
  const value = makePayload(items)
  const amCbor = Buffer.from(encode(value))
  const xCbor = Buffer.from(cborX.encode(value))
  const amJson = encode(value, JSON_CONTENT_TYPE)
  const bareJson = Buffer.from(JSON.stringify(value))
  // every implementation must give the value back before its speed means anything
  deepStrictEqual(decode(amCbor, CBOR), value)
  deepStrictEqual(cborX.decode(xCbor), value)
  deepStrictEqual(decode(amJson, JSON_CONTENT_TYPE), value)
  deepStrictEqual(JSON.parse(bareJson.toString()), value)
  sizes[name] = {
    [AM_CBOR]: amCbor.length,
    [CBOR_X]: xCbor.length,
    [AM_JSON]: amJson.length,
    [BARE_JSON]: bareJson.length,
  }

  const runs: Record<(typeof MEASURES)[number], Record<string, () => unknown>> = {
    encode: {
      [AM_CBOR]: () => encode(value),
      [CBOR_X]: () => cborX.encode(value),
      [AM_JSON]: () => encode(value, JSON_CONTENT_TYPE),
      [BARE_JSON]: () => Buffer.from(JSON.stringify(value)),
    },
    decode: {
      [AM_CBOR]: () => decode(amCbor, CBOR),
      [CBOR_X]: () => cborX.decode(xCbor),
      [AM_JSON]: () => decode(amJson, JSON_CONTENT_TYPE),
      [BARE_JSON]: () => JSON.parse(bareJson.toString()),
    },
    'round trip': {
      [AM_CBOR]: () => decode(encode(value), CBOR),
      [CBOR_X]: () => cborX.decode(cborX.encode(value)),
      [AM_JSON]: () => decode(encode(value, JSON_CONTENT_TYPE), JSON_CONTENT_TYPE),
      [BARE_JSON]: () => JSON.parse(Buffer.from(JSON.stringify(value)).toString()),
    },
  }
  for (const measure of MEASURES) {
    for (const [implementation, run] of Object.entries(runs[measure])) {
      cases.push({ measure, payload: name, implementation, run })
    }
  }
}

const env = environment()
console.log(
  `codec: @am/codec vs cbor-x ${cborXVersion} (native extractor ${isNativeAccelerationEnabled ? 'loaded' : 'NOT loaded'}) and JSON`,
)
console.log(`${env.node} (V8 ${env.v8}), ${env.platform}-${env.arch}, ${env.cpuCount} × ${env.cpuModel}`)
for (const { name } of payloads) {
  const bytes = Object.entries(sizes[name] ?? {}).map(([implementation, size]) => `${implementation} ${size} B`)
  console.log(`payload ${name}: ${bytes.join(', ')}`)
}
console.log(
  `${settings.rounds} interleaved rounds of ${settings.budgetMs} ms per case, after ${settings.warmupMs} ms of warm-up${options.quick ? ' (--quick: not a measurement)' : ''}\n`,
)

const measured = measureCases(cases, settings)
const find = (measure: string, payload: string, implementation: string): Measured | undefined =>
  measured.find((row) => row.measure === measure && row.payload === payload && row.implementation === implementation)
// a ratio per round, of two cases measured one after the other, then their median: load that
// drifts during the run (a shared machine) cancels out better than in a ratio of medians
const ratioOf = (row: Measured, against: string): number => {
  const other = find(row.measure, row.payload, against)?.opsPerSecond ?? []
  return median(row.opsPerSecond.map((ops, round) => ops / (other[round] ?? Number.NaN)))
}
const baseline: Record<string, string> = { [AM_CBOR]: CBOR_X, [AM_JSON]: BARE_JSON }
const ratios: Record<string, number> = {}
const rows = measured.map((row) => {
  const against = baseline[row.implementation]
  const ratio = against ? ratioOf(row, against) : undefined
  if (ratio !== undefined) ratios[`${row.implementation} / ${against}, ${row.measure}, ${row.payload}`] = ratio
  return [
    row.measure,
    row.payload,
    row.implementation,
    formatOps(row.median),
    `${formatOps(row.min)}–${formatOps(row.max)}`,
    ratio === undefined ? '' : `${ratio.toFixed(2)}×`,
  ]
})
console.log(
  formatTable(['measure', 'payload', 'implementation', 'median ops/s', 'min–max ops/s', 'vs bare'], rows, [3, 4, 5]),
)

const roundTrips = payloads.map(({ name }) => {
  const row = find('round trip', name, AM_CBOR)
  return { name, ratio: row ? ratioOf(row, CBOR_X) : Number.NaN }
})
console.log(`\nvs bare: median over rounds of the per-round ratio to ${CBOR_X} (CBOR) or ${BARE_JSON} (JSON)`)
console.log(
  `@am/codec CBOR round trip / bare cbor-x: ${roundTrips.map(({ name, ratio }) => `${ratio.toFixed(2)}× (${name})`).join(', ')}; goal ≥ ${GOAL}×${options.quick || roundTrips.every(({ ratio }) => ratio >= GOAL) ? '' : ' MISSED'}`,
)

if (options.quick) {
  console.log('--quick: results not saved')
} else {
  const file = saveResults(new URL('../results/latest.json', import.meta.url), 'codec', {
    date: new Date().toISOString(),
    environment: { ...env, cborX: cborXVersion, cborXNativeExtractor: isNativeAccelerationEnabled },
    settings,
    payloadBytes: sizes,
    results: measured,
    ratios,
  })
  console.log(`results saved to ${file}`)
}
