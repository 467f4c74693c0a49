// Recovery: a consumer's connection is force-closed by the broker (`rabbitmqctl close_connection`)
// while messages wait in its queue; we time from the loss of the connection to the first delivery
// on the new one. Ours: @am/bus-core's supervisor. Baseline, in the same run: amqplib 2's own
// recovery (`connect(url, { recovery })`, its defaults) re-creating the channel and consumer in `setup`.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { createSupervisor, defineTopology } from '@am/bus-core'
import { type Channel, type ChannelModel, connect, type RecoveringChannelModel } from 'amqplib'
import { brokerNode } from './lib/brokers.js'
import { brokerLine, environment, formatTable, median, parseOptions, saveResults } from './lib/harness.js'

const exec = promisify(execFile)
const options = parseOptions()
const trials = options.quick ? 1 : 5
const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/am-test'
const waiting = 1000

async function closeConnection(name: string): Promise<void> {
  const node = brokerNode() ? ['-n', brokerNode() as string] : []
  const { stdout } = await exec('rabbitmqctl', [
    '-q',
    ...node,
    'list_connections',
    'pid',
    'client_properties',
    '--no-table-headers',
  ])
  const line = stdout.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`))
  if (!line) throw new Error(`connection ${name} not found`)
  await exec('rabbitmqctl', ['-q', ...node, 'close_connection', line.split('\t')[0] as string, 'bench'])
}

async function fill(queue: string): Promise<void> {
  const connection = await connect(url)
  const channel = await connection.createConfirmChannel()
  await channel.assertQueue(queue, { durable: true })
  for (let i = 0; i < waiting; i++) channel.sendToQueue(queue, Buffer.from(String(i)), { persistent: true })
  await channel.waitForConfirms()
  await connection.close()
}

async function deleteQueue(queue: string): Promise<void> {
  const connection = await connect(url)
  const channel = await connection.createChannel()
  await channel.deleteQueue(queue)
  await connection.close()
}

/** One trial with @am/bus-core: ms from the connection loss to the first delivery after it. */
async function ours(): Promise<number> {
  const queue = `bench-recovery-${randomBytes(4).toString('hex')}`
  const name = `bench-ours-${randomBytes(4).toString('hex')}`
  await fill(queue)
  const bus = createSupervisor({
    urls: url,
    connectionName: name,
    topology: defineTopology({ queues: [{ key: 'q', name: queue }] }),
  })
  let lostAt = 0
  let resumed: (ms: number) => void = () => {}
  const result = new Promise<number>((resolve) => {
    resumed = resolve
  })
  bus.on('disconnected', () => {
    lostAt = performance.now()
  })
  await bus.ready()
  // Hold the first deliveries unacked (prefetch 10) so messages keep waiting in the queue.
  await bus.consume(
    'q',
    (d) => {
      if (lostAt && d.generation > 1) resumed(performance.now() - lostAt)
    },
    { prefetch: 10 },
  )
  await new Promise((r) => setTimeout(r, 100))
  await closeConnection(name)
  const ms = await result
  await bus.close()
  await deleteQueue(queue)
  return ms
}

/** One trial with amqplib's own recovery. */
async function baseline(): Promise<number> {
  const queue = `bench-recovery-${randomBytes(4).toString('hex')}`
  const name = `bench-amqplib-${randomBytes(4).toString('hex')}`
  await fill(queue)
  let lostAt = 0
  let connections = 0
  let resumed: (ms: number) => void = () => {}
  const result = new Promise<number>((resolve) => {
    resumed = resolve
  })
  const model = (await connect(url, {
    clientProperties: { connection_name: name },
    noDelay: true,
    recovery: {
      setup: async (m: ChannelModel) => {
        connections += 1
        const generation = connections
        const channel: Channel = await m.createChannel()
        await channel.prefetch(10)
        await channel.consume(queue, () => {
          if (lostAt && generation > 1) resumed(performance.now() - lostAt)
        })
      },
    },
  })) as RecoveringChannelModel
  model.on('disconnect', () => {
    lostAt = performance.now()
  })
  model.on('error', () => undefined)
  await new Promise((r) => setTimeout(r, 100))
  await closeConnection(name)
  const ms = await result
  await model.close()
  await deleteQueue(queue)
  return ms
}

const samples = { ours: [] as number[], baseline: [] as number[] }
for (let trial = 0; trial < trials; trial++) {
  // interleaved, so drift and broker load spread over both
  samples.ours.push(await ours())
  samples.baseline.push(await baseline())
}
const row = (label: string, values: number[]): string[] => [
  label,
  median(values).toFixed(0),
  `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`,
  values.map((v) => v.toFixed(0)).join(' '),
]
console.log(brokerLine())
console.log(
  `recovery: connection force-closed with ${waiting} messages waiting; ms from the loss to the first delivery after it, ${trials} trial(s)\n`,
)
console.log(
  formatTable(
    ['implementation', 'median ms', 'min–max', 'trials'],
    [row('@am/bus-core supervisor', samples.ours), row('amqplib 2 recovery (defaults)', samples.baseline)],
    [1],
  ),
)
const ratio = median(samples.ours) / median(samples.baseline)
console.log(`\nratio ours/baseline (median): ${ratio.toFixed(2)}×; target: ours ≤ 500 ms p50`)
if (options.quick) console.log('--quick: results not saved')
else {
  const file = saveResults(
    new URL('../results/latest.json', import.meta.url),
    'recovery',
    {
      environment: environment(),
      waiting,
      trials,
      oursMs: samples.ours,
      baselineMs: samples.baseline,
      ratio,
    },
    { 'recovery ms to first delivery': ratio },
  )
  console.log(`saved in ${file}`)
}
