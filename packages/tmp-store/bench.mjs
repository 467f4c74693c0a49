// Store operations per second next to the raw ioredis commands they are made of, in one run, on a
// throwaway redis-server of the bench's own. Build first (`pnpm --filter @am/tmp-store build`), then
// `node bench.mjs`. Each cell is the best of 3 runs of BENCH_SECONDS (0.5 by default), after a
// warm-up, store and raw runs alternating so that a busy machine hurts both alike.
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { encode } from '@am/codec'
import { Redis } from 'ioredis'
import { createTmpStore } from './dist/index.js'
import { startRedis } from './scripts/redis-server.mjs'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.5)
const RUNS = 3
const IN_FLIGHT = 64
const VALUE = { id: 'job-42', step: 3, tags: ['a', 'b'], at: 1_700_000_000 }
const TEN = Array.from({ length: 10 }, (_, i) => `k${i}`)

const server = await startRedis()
const store = await createTmpStore({ namespace: 'bench:', redis: server.address })
const raw = new Redis({ host: '127.0.0.1', port: server.port })
const body = encode(VALUE)
const ns = (key) => `bench:${key}`
const tenEntries = Object.fromEntries(TEN.map((k) => [k, VALUE]))
const tenPairs = TEN.flatMap((k) => [ns(`raw-${k}`), body])

/** Operations per second of `op(i)`, `inFlight` at a time, for `seconds`. */
async function rate(op, inFlight, seconds = SECONDS) {
  let done = 0
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      while (performance.now() < deadline) {
        await op(lane * 1_000_000 + done)
        done += 1
      }
    }),
  )
  return Math.round(done / ((performance.now() - started) / 1000))
}

const setexMset = () => {
  const multi = raw.multi().mset(...tenPairs)
  for (const k of TEN) multi.expire(ns(`raw-${k}`), 270)
  return multi.exec()
}
const takeRaw = (key) => raw.multi().getBuffer(key).del(key).exec()

// Each row: the store operation and the raw commands that do the same work.
const rows = [
  {
    store: 'set',
    op: (i) => store.set(`s${i % 1000}`, VALUE),
    raw: 'SETEX',
    rawOp: (i) => raw.setex(ns(`raw-s${i % 1000}`), 270, body),
  },
  { store: 'peek (hit)', op: () => store.peek('p'), raw: 'GET', rawOp: () => raw.getBuffer(ns('raw-p')) },
  {
    store: 'set + pop',
    op: async (i) => {
      await store.set(`q${i}`, VALUE)
      await store.pop(`q${i}`)
    },
    raw: 'SETEX + MULTI GET DEL',
    rawOp: async (i) => {
      await raw.setex(ns(`raw-q${i}`), 270, body)
      await takeRaw(ns(`raw-q${i}`))
    },
  },
  { store: 'mset 10 keys', op: () => store.mset(tenEntries), raw: 'MULTI MSET EXPIRE×10', rawOp: setexMset },
  {
    store: 'mset + mpop 10 keys',
    op: async () => {
      await store.mset(tenEntries)
      await store.mpop(...TEN)
    },
    raw: 'MULTI MSET EXPIRE×10 + MGET + DEL (not atomic)',
    rawOp: async () => {
      await setexMset()
      const keys = TEN.map((k) => ns(`raw-${k}`))
      await raw.mgetBuffer(...keys)
      await raw.del(...keys)
    },
  },
  {
    store: 'peekOrCreate (hit)',
    op: () => store.peekOrCreate('p', () => VALUE, { maxOpTime: 5 }),
    raw: 'GET',
    rawOp: () => raw.getBuffer(ns('raw-p')),
  },
  {
    store: 'isDown()',
    op: () => store.isDown(),
    raw: 'SETEX + MULTI GET DEL',
    rawOp: async () => {
      await raw.setex(ns('raw-h'), 60, body)
      await takeRaw(ns('raw-h'))
    },
  },
]

await store.set('p', VALUE)
await raw.setex(ns('raw-p'), 270, body)
const { version } = JSON.parse(readFileSync(new URL('./node_modules/ioredis/package.json', import.meta.url), 'utf8'))
console.log(
  `@am/tmp-store vs raw ioredis ${version}, redis-server on ${server.address}, best of ${RUNS} × ${SECONDS} s per cell, Node ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(1)}`,
)
console.log('')
console.log(
  `| store operation | ops/s (1 at a time) | ops/s (${IN_FLIGHT} in flight) | raw commands | ops/s (1 at a time) | ops/s (${IN_FLIGHT} in flight) |`,
)
console.log('|---|---:|---:|---|---:|---:|')
for (const row of rows) {
  await rate(row.op, IN_FLIGHT, 0.2)
  await rate(row.rawOp, IN_FLIGHT, 0.2)
  const best = [0, 0, 0, 0]
  for (let run = 0; run < RUNS; run++) {
    const cells = [
      await rate(row.op, 1),
      await rate(row.rawOp, 1),
      await rate(row.op, IN_FLIGHT),
      await rate(row.rawOp, IN_FLIGHT),
    ]
    cells.forEach((cell, i) => {
      best[i] = Math.max(best[i], cell)
    })
  }
  const [store1, raw1, storeN, rawN] = best
  console.log(`| ${row.store} | ${store1} | ${storeN} | ${row.raw} | ${raw1} | ${rawN} |`)
}
raw.disconnect()
await store.close()
await server.kill()
