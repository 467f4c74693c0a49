// Batch latency on a real broker: time from the first push to the callback, and from the last push
// to the callback, for batches closed by their size and by their timeout. Not a test: run it by hand
// after `pnpm --filter @am/service build`:
//   AMQP_URL=amqp://guest:guest@127.0.0.1:5672/vhost node packages/service/test/batch-latency.mjs [rounds]
import { randomUUID } from 'node:crypto'
import { createSupervisor } from '@am/bus-core'
import { redactUrl } from '@am/errors'
import { batch, eventProperties, Service } from '../dist/index.js'

const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/'
const rounds = Number(process.argv[2] ?? 20)
const MAX_ENTRIES = 100
const TIMEOUT_MS = 200

class Probe extends Service {
  name = `batch-latency-${randomUUID().slice(0, 8)}`
  pushes = []
  onBatch = () => {}

  handlers() {
    const inner = batch({ maxEntries: MAX_ENTRIES, timeoutMs: TIMEOUT_MS }, (entries) => {
      const at = performance.now()
      const pushes = this.pushes
      this.pushes = []
      this.onBatch({ size: entries.length, fromFirst: at - pushes[0], fromLast: at - pushes[pushes.length - 1] })
    })
    // The same batch behind a wrapper that notes when each message is pushed (Object.assign keeps its marker).
    const timed = Object.assign((payload, ctx) => {
      this.pushes.push(performance.now())
      return inner(payload, ctx)
    }, inner)
    return { events: { BatchLatencyProbe: timed } }
  }
}

const probe = new Probe({ urls: url, prefetch: MAX_ENTRIES, handleSignals: false })
const bus = createSupervisor({ urls: url })
await probe.start()
await bus.ready()
const body = Buffer.from('{}')
const properties = eventProperties('latency', 'application/json')

async function round(count) {
  const done = new Promise((resolve) => {
    probe.onBatch = resolve
  })
  await Promise.all(Array.from({ length: count }, () => bus.publish('events', 'BatchLatencyProbe', body, properties)))
  return done
}

function summary(label, samples) {
  const sorted = samples.map((s) => s.fromFirst).sort((a, b) => a - b)
  const last = samples.map((s) => s.fromLast).sort((a, b) => a - b)
  const at = (xs, q) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))].toFixed(2)
  const sizes = [...new Set(samples.map((s) => s.size))].join('/')
  console.log(
    `${label}: ${samples.length} batches of ${sizes}; first push → callback ms p50 ${at(sorted, 0.5)} p95 ${at(sorted, 0.95)} max ${at(sorted, 1)}; ` +
      `last push → callback ms p50 ${at(last, 0.5)} max ${at(last, 1)}`,
  )
}

console.log(`broker ${redactUrl(url)}, maxEntries ${MAX_ENTRIES}, timeoutMs ${TIMEOUT_MS}, ${rounds} rounds each`)
const bySize = []
for (let i = 0; i < rounds; i++) bySize.push(await round(MAX_ENTRIES))
summary('size limit (100 published at once)', bySize)
const byTime = []
for (let i = 0; i < rounds; i++) byTime.push(await round(10))
summary('time limit (10 published at once)', byTime)
const single = []
for (let i = 0; i < rounds; i++) single.push(await round(1))
summary('time limit (1 published)', single)

await probe.stop()
await bus.withChannel((channel) => channel.deleteQueue(`${probe.name}.events`))
await bus.close()
