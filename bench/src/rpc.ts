// Scenario `rpc`: request/reply through a responder service. Ours: @am/service `request()`, and
// `sendCommand` with a result handler, against a `Service` that answers with `returnSuccess`.
// Baseline, in the same run: raw amqplib on both sides with the same guarantees (persistent,
// mandatory, publisher confirms, manual acks after the confirm, TCP_NODELAY) and the same routes
// (`commands` exchange, a durable command queue, the result routed by its reply-to key).
// 1 in flight: latency percentiles after a warm-up; 100 in flight: requests/s.

import { encode } from '@am/codec'
import { type CommandContext, type Handlers, Service } from '@am/service'
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib'
import { Encoder } from 'cbor-x'
import { brokerVersion, deleteQueues, open, uniqueName, url } from './lib/amqp.js'
import {
  brokerLine,
  environment,
  formatSummary,
  formatTable,
  parseOptions,
  percentile,
  ratioPerRound,
  type Summary,
  saveResults,
  summarize,
} from './lib/harness.js'
import { makePayload } from './lib/payload.js'

const REQUEST = '@am/service request()'
const COMMAND = '@am/service sendCommand + result handler'
const RAW = 'raw amqplib, exclusive reply queue'
const RAW_DURABLE = 'raw amqplib, durable result queue'
const IMPLEMENTATIONS = [REQUEST, COMMAND, RAW, RAW_DURABLE]
/** Each of ours against the baseline with the same guarantees: `request()` takes its result from an
 * exclusive queue, a result handler from the service's durable `<service>.commands` queue. */
const BASELINE: Record<string, string> = { [REQUEST]: RAW, [COMMAND]: RAW_DURABLE }
const EXCHANGE = 'commands'
const PREFETCH = 100

const options = parseOptions()
const settings = options.quick
  ? {
      rounds: 1,
      warmup: 100,
      latencyRequests: 100,
      concurrency: 100,
      throughputRequests: 500,
      latencyBlock: 50,
      throughputBlock: 250,
    }
  : {
      rounds: 5,
      warmup: 10_000,
      latencyRequests: 2_000,
      concurrency: 100,
      throughputRequests: 10_000,
      latencyBlock: 50,
      throughputBlock: 2_000,
    }

const payload = makePayload(0)
const payloadBytes = encode(payload).length
const cbor = new Encoder({ useRecords: false })
const conversationId = uniqueName('bench-conversation')

/** One way of making a request; resolves with the result once the command is confirmed too. */
interface Client {
  call(): Promise<unknown>
  close(): Promise<void>
}

/** Durable queues to delete at the end. */
const created: string[] = []

class Echo extends Service {
  constructor(
    readonly name: string,
    private readonly command: string,
  ) {
    super({ urls: url, prefetch: PREFETCH, handleSignals: false })
  }

  protected handlers(): Handlers {
    return { commands: { [this.command]: (p: unknown, ctx: CommandContext) => ctx.returnSuccess(p) } }
  }
}

class Requester extends Service {
  readonly pending = new Map<string, (payload: unknown) => void>()

  constructor(
    readonly name: string,
    private readonly resultKey?: string,
  ) {
    super({ urls: url, prefetch: PREFETCH, handleSignals: false })
  }

  protected handlers(): Handlers {
    if (!this.resultKey) return {}
    return {
      results: {
        [this.resultKey]: (result, ctx) => {
          const resolve = this.pending.get(ctx.correlationId)
          this.pending.delete(ctx.correlationId)
          resolve?.(result)
        },
      },
    }
  }
}

async function startResponder(): Promise<{ command: string; stop: () => Promise<void> }> {
  const name = uniqueName('bench-rpc')
  const command = `${name}.Echo`
  const responder = new Echo(name, command)
  await responder.start()
  created.push(`${name}.commands`)
  return { command, stop: () => responder.stop() }
}

async function requestClient(command: string): Promise<Client> {
  const client = new Requester(uniqueName('bench-rpc-client'))
  await client.start()
  return {
    call: () => client.request(command, payload, { conversationId }),
    close: () => client.stop(),
  }
}

async function commandClient(command: string): Promise<Client> {
  const name = uniqueName('bench-rpc-client')
  const resultKey = `${name}.EchoResult`
  const client = new Requester(name, resultKey)
  await client.start()
  created.push(`${name}.commands`)
  let next = 0
  return {
    call: async () => {
      const correlationId = String(next++)
      const result = new Promise<unknown>((resolve) => client.pending.set(correlationId, resolve))
      await client.sendCommand(command, payload, { conversationId, replyTo: resultKey, correlationId })
      return result
    },
    close: () => client.stop(),
  }
}

/**
 * Raw amqplib: a responder connection and a requester connection, each with a consume and a
 * confirm channel. Results come back on an exclusive server-named queue, or on a durable one.
 */
async function rawClient(durable: boolean): Promise<Client> {
  const name = uniqueName('bench-raw-rpc')
  const command = `${name}.Echo`
  const replyKey = `${name}.reply`
  const queue = `${name}.commands`
  created.push(queue)

  const server = await open(`${name}-responder`)
  const serverIn: Channel = await server.createChannel()
  const serverOut: ConfirmChannel = await server.createConfirmChannel()
  await serverIn.assertExchange(EXCHANGE, 'topic', { durable: true })
  await serverIn.assertQueue(queue, { durable: true })
  await serverIn.bindQueue(queue, EXCHANGE, command)
  await serverIn.prefetch(PREFETCH)
  await serverIn.consume(queue, (message: ConsumeMessage | null) => {
    if (!message) return
    const { replyTo, correlationId, headers } = message.properties
    const result = cbor.encode(cbor.decode(message.content))
    serverOut.publish(
      EXCHANGE,
      replyTo as string,
      result,
      {
        contentType: 'application/cbor',
        headers: { status: 'success', conversation_id: headers?.conversation_id },
        deliveryMode: 2,
        correlationId,
        replyTo: '',
        mandatory: true,
      },
      (error: unknown) => (error ? serverIn.nack(message, false, true) : serverIn.ack(message)),
    )
  })

  const client = await open(`${name}-requester`)
  const clientIn: Channel = await client.createChannel()
  const clientOut: ConfirmChannel = await client.createConfirmChannel()
  const { queue: replies } = durable
    ? await clientIn.assertQueue(`${name}-client.commands`, { durable: true })
    : await clientIn.assertQueue('', { exclusive: true })
  if (durable) created.push(replies)
  await clientIn.bindQueue(replies, EXCHANGE, replyKey)
  await clientIn.prefetch(PREFETCH)
  const pending = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  await clientIn.consume(replies, (message: ConsumeMessage | null) => {
    if (!message) return
    const result = cbor.decode(message.content)
    clientIn.ack(message)
    const id = message.properties.correlationId as string
    pending.get(id)?.resolve(result)
    pending.delete(id)
  })
  let next = 0
  return {
    call: () => {
      const correlationId = String(next++)
      const result = new Promise<unknown>((resolve, reject) => pending.set(correlationId, { resolve, reject }))
      const confirmed = new Promise<void>((resolve, reject) => {
        clientOut.publish(
          EXCHANGE,
          command,
          cbor.encode(payload),
          {
            contentType: 'application/cbor',
            headers: { conversation_id: conversationId },
            deliveryMode: 2,
            correlationId,
            replyTo: replyKey,
            mandatory: true,
          },
          (error: unknown) => (error ? reject(error as Error) : resolve()),
        )
      })
      return Promise.all([confirmed, result]).then(([, value]) => value)
    },
    close: async () => {
      await client.close()
      await server.close()
    },
  }
}

async function sequential(client: Client, requests: number): Promise<number[]> {
  const latencies: number[] = []
  for (let i = 0; i < requests; i++) {
    const start = performance.now()
    await client.call()
    latencies.push((performance.now() - start) * 1000)
  }
  return latencies
}

/** Time and CPU time (of the process: both sides run here) of `requests` made `concurrency` at a time. */
async function concurrent(
  client: Client,
  requests: number,
  concurrency: number,
): Promise<{ elapsedMs: number; cpuUs: number }> {
  let issued = 0
  const worker = async (): Promise<void> => {
    while (issued < requests) {
      issued += 1
      await client.call()
    }
  }
  const cpuAtStart = process.cpuUsage()
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsedMs = performance.now() - start
  const cpu = process.cpuUsage(cpuAtStart)
  return { elapsedMs, cpuUs: cpu.user + cpu.system }
}

const env = { ...environment(), broker: await brokerVersion() }

console.log(brokerLine())
console.log(
  `rpc: ${payloadBytes} B CBOR command, echoed as a success result; persistent, mandatory, confirmed, acked after the confirm`,
)
console.log(
  `${env.node}, ${env.platform}-${env.arch}, ${env.cpuCount} × ${env.cpuModel}, ${env.broker}; warm-up ${settings.warmup.toLocaleString('en-US')} requests each, ${settings.rounds} interleaved round(s) of ${settings.latencyRequests.toLocaleString('en-US')} requests at 1 in flight (in turns of ${settings.latencyBlock}) and ${settings.throughputRequests.toLocaleString('en-US')} at ${settings.concurrency} in flight (in turns of ${settings.throughputBlock.toLocaleString('en-US')})${options.quick ? ' (--quick: not a measurement)' : ''}\n`,
)

const responder = await startResponder()
const clients: Record<string, Client> = {
  [REQUEST]: await requestClient(responder.command),
  [COMMAND]: await commandClient(responder.command),
  [RAW]: await rawClient(false),
  [RAW_DURABLE]: await rawClient(true),
}
interface Round {
  p50: number
  p90: number
  p99: number
  requestsPerSecond: number
  cpuUsPerRequest: number
}
const rounds: Record<string, Round[]> = Object.fromEntries(IMPLEMENTATIONS.map((name) => [name, []]))
try {
  for (const name of IMPLEMENTATIONS) {
    const client = clients[name] as Client
    await sequential(client, settings.warmup)
    await concurrent(client, Math.min(settings.warmup, 2_000), settings.concurrency)
  }
  // The implementations take turns in short blocks (rotating who goes first), so that each of them
  // sees the same broker load: on a shared machine it drifts within seconds.
  const order = (turn: number): string[] =>
    IMPLEMENTATIONS.map((_, i) => IMPLEMENTATIONS[(i + turn) % IMPLEMENTATIONS.length] as string)
  for (let round = 0; round < settings.rounds; round++) {
    const latencies: Record<string, number[]> = Object.fromEntries(IMPLEMENTATIONS.map((name) => [name, []]))
    const busy: Record<string, { elapsedMs: number; cpuUs: number }> = Object.fromEntries(
      IMPLEMENTATIONS.map((name) => [name, { elapsedMs: 0, cpuUs: 0 }]),
    )
    for (let block = 0; block < settings.latencyRequests / settings.latencyBlock; block++) {
      for (const name of order(round + block)) {
        latencies[name]?.push(...(await sequential(clients[name] as Client, settings.latencyBlock)))
      }
    }
    for (let block = 0; block < settings.throughputRequests / settings.throughputBlock; block++) {
      for (const name of order(round + block)) {
        const { elapsedMs, cpuUs } = await concurrent(
          clients[name] as Client,
          settings.throughputBlock,
          settings.concurrency,
        )
        const total = busy[name] as { elapsedMs: number; cpuUs: number }
        total.elapsedMs += elapsedMs
        total.cpuUs += cpuUs
      }
    }
    for (const name of IMPLEMENTATIONS) {
      const list = latencies[name] ?? []
      const total = busy[name] as { elapsedMs: number; cpuUs: number }
      const requestsPerSecond = settings.throughputRequests / (total.elapsedMs / 1000)
      const cpuUsPerRequest = total.cpuUs / settings.throughputRequests
      const figures = {
        p50: percentile(list, 50),
        p90: percentile(list, 90),
        p99: percentile(list, 99),
        requestsPerSecond,
        cpuUsPerRequest,
      }
      rounds[name]?.push(figures)
      console.error(
        `  round ${round + 1}, ${name}: p50 ${figures.p50.toFixed(0)} µs, p99 ${figures.p99.toFixed(0)} µs, ${Math.round(requestsPerSecond)} req/s, ${cpuUsPerRequest.toFixed(0)} µs CPU/req`,
      )
    }
  }
} finally {
  for (const client of Object.values(clients)) await client.close()
  await responder.stop()
  await deleteQueues(created)
}

interface Row {
  implementation: string
  p50: Summary
  p90: Summary
  p99: Summary
  requestsPerSecond: Summary
  cpuUsPerRequest: Summary
  p50Ratio?: Summary
  throughputRatio?: Summary
  cpuRatio?: Summary
}
const rows: Row[] = IMPLEMENTATIONS.map((implementation) => {
  const list = rounds[implementation] ?? []
  const pick = (key: keyof Round): number[] => list.map((round) => round[key])
  const baseline = BASELINE[implementation]
  const raw = baseline ? (rounds[baseline] ?? []) : []
  return {
    implementation,
    p50: summarize(pick('p50')),
    p90: summarize(pick('p90')),
    p99: summarize(pick('p99')),
    requestsPerSecond: summarize(pick('requestsPerSecond')),
    cpuUsPerRequest: summarize(pick('cpuUsPerRequest')),
    ...(baseline === undefined
      ? {}
      : {
          p50Ratio: ratioPerRound(
            pick('p50'),
            raw.map((r) => r.p50),
          ),
          throughputRatio: ratioPerRound(
            pick('requestsPerSecond'),
            raw.map((r) => r.requestsPerSecond),
          ),
          cpuRatio: ratioPerRound(
            pick('cpuUsPerRequest'),
            raw.map((r) => r.cpuUsPerRequest),
          ),
        }),
  }
})
console.log(
  formatTable(
    [
      'implementation',
      'p50 µs',
      'vs raw',
      'p90 µs',
      'p99 µs',
      `req/s at ${settings.concurrency} in flight`,
      'vs raw',
      'CPU µs/req',
      'vs raw',
    ],
    rows.map((row) => [
      row.implementation,
      formatSummary(row.p50, 0),
      row.p50Ratio ? `${row.p50Ratio.median.toFixed(2)}×` : '',
      formatSummary(row.p90, 0),
      formatSummary(row.p99, 0),
      formatSummary(row.requestsPerSecond),
      row.throughputRatio ? `${row.throughputRatio.median.toFixed(2)}×` : '',
      formatSummary(row.cpuUsPerRequest, 0),
      row.cpuRatio ? `${row.cpuRatio.median.toFixed(2)}×` : '',
    ]),
    [1, 2, 3, 4, 5, 6, 7, 8],
  ),
)
console.log(
  `\nmedian (min–max) over rounds; vs raw: median over rounds of the per-round ratio to the raw baseline with the same result queue (request() vs "${RAW}", sendCommand vs "${RAW_DURABLE}"); CPU: both sides, at 100 in flight`,
)
for (const row of rows) {
  if (!row.p50Ratio || !row.throughputRatio) continue
  const p50 = row.p50Ratio.median
  const rps = row.throughputRatio.median
  console.log(
    `${row.implementation}: p50 ${p50.toFixed(2)}× (target ≤ 1.1×${p50 <= 1.1 ? '' : ' MISSED'}), req/s ${rps.toFixed(2)}× (target ≥ 0.9×${rps >= 0.9 ? '' : ' MISSED'})`,
  )
}

if (options.quick) console.log('--quick: results not saved')
else {
  const file = saveResults(new URL('../results/latest.json', import.meta.url), 'rpc', {
    date: new Date().toISOString(),
    environment: { ...env, loadAverageAtEnd: environment().loadAverage },
    settings: { ...settings, payloadBytes, prefetch: PREFETCH },
    baseline:
      'amqplib: requester and responder connections, each with a consume channel and a confirm channel; persistent, mandatory, confirms, ack after confirm, TCP_NODELAY, cbor-x; results on an exclusive queue (vs request()) or a durable one (vs sendCommand + result handler)',
    baselines: BASELINE,
    rounds,
    summary: rows,
  })
  console.log(`results saved to ${file}`)
}
