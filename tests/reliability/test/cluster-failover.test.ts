import { randomBytes } from 'node:crypto'
import { createSupervisor, type PublishError, type SupervisorLike } from '@am/bus-core'
import { type Handlers, Service } from '@am/service'
import { startCluster, type ThrowawayCluster, uniqueName, waitFor } from '@am/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Capture } from './support/capture.js'
import { accountDuplicates, describeAccount } from './support/duplicates.js'
import { recordFigure } from './support/figures.js'
import { Ledger } from './support/ledger.js'
import { backlogGate, drained, openSink, produce, Relay, sleep } from './support/relay.js'

// A throwaway 3-node cluster on 5721-5723 (never the shared broker), reached as a user of its own
// whose password is unique to this run; service queues are quorum queues.
const BASE_PORT = 5720
const EVENTS = Number(process.env.RELIABILITY_CLUSTER_EVENTS ?? 10_000)
const PREFETCH = 20
const WORK_MS = 30
const BACKLOG = 2_000
const WINDOW = 200
const SINK_PREFETCH = 20
const QUORUM = { 'x-queue-type': 'quorum' }
const capture = new Capture()
const secret = `pw-${randomBytes(12).toString('hex')}`
const user = uniqueName('rel-user')
let cluster: ThrowawayCluster
let urls: string[]

beforeAll(async () => {
  cluster = await startCluster(3, BASE_PORT)
  await cluster.ctl(1, 'add_user', user, secret)
  await cluster.ctl(1, 'set_permissions', '-p', '/', user, '.*', '.*', '.*')
  urls = cluster.urls.map((u) => u.replace('guest:guest@', `${user}:${secret}@`))
}, 600_000)

afterAll(async () => {
  await cluster?.stop()
}, 120_000)

/** The 1-based node a safe URL (`amqp://user:***@127.0.0.1:5722/`) points at. */
function nodeOf(url: string): number {
  return Number(new URL(url).port) - BASE_PORT
}

describe('fault 3: kill -9 of the node a service given all three URLs is connected to', () => {
  it(`relays ≥ ${EVENTS} events on quorum queues: none lost, every duplicate explained by what was in hand, resumed within 5 s`, async () => {
    const name = uniqueName('rel-quorum')
    const input = uniqueName('RelIn')
    const output = uniqueName('RelOut')
    const ledger = new Ledger()
    const reconnect = { initialDelayMs: 50, maxDelayMs: 1_000 }
    // The consumer downstream on node 2 and the producer on node 3: the service starts on node 1.
    await using sink = await openSink({
      urls: [urls[1] as string],
      routingKey: output,
      ledger,
      connectionName: uniqueName('rel-sink'),
      queue: uniqueName('rel-sink'),
      arguments: QUORUM,
      prefetch: SINK_PREFETCH,
      supervisor: { reconnect, logger: capture.logger('sink') },
    })
    await using service = new Relay(
      name,
      input,
      output,
      ledger,
      {
        urls,
        prefetch: PREFETCH,
        queueType: 'quorum',
        handleSignals: false,
        logger: capture.logger(name),
        supervisor: { reconnect },
      },
      WORK_MS,
    )
    const connectedTo: number[] = []
    const starting = service.start()
    const supervisor = service.supervisor as SupervisorLike
    supervisor.on('connected', ({ url }) => connectedTo.push(nodeOf(url)))
    await starting
    await using producer = createSupervisor({
      urls: [urls[2] as string],
      connectionName: uniqueName('rel-pub'),
      reconnect,
      logger: capture.logger('producer'),
    })
    await producer.ready()

    // A random moment 3 to 8 s into the stream, while the service works through a backlog; the
    // stream goes on until the node is back.
    let back = false
    let resumeMs = Number.NaN
    let victim = 0
    const fault = (async () => {
      await sleep(3_000 + Math.random() * 5_000)
      victim = connectedTo.at(-1) as number
      const gen = supervisor.generation
      const killedAt = Date.now()
      await cluster.killNode(victim)
      resumeMs = (await sink.firstAfter(gen, 60_000)) - killedAt
      await cluster.startNode(victim)
      back = true
    })()
    const producing = produce({
      bus: producer,
      routingKey: input,
      count: EVENTS,
      more: () => !back,
      ledger,
      prefix: name,
      window: WINDOW,
      gate: backlogGate(ledger, BACKLOG),
    })
    await Promise.all([producing, fault])
    await waitFor(() => ledger.delivered.size >= ledger.confirmed.size, 120_000, 'every confirmed event downstream')
    // Asked of node 2, which stayed up all along.
    await drained((...args) => cluster.ctl(2, ...args), '/', [`${name}.events`, sink.queue()])

    // Only the service's node dies: the consumer downstream (node 2) and the producer (node 3) keep
    // their connections, unless the kill cost them one too (counted).
    const account = accountDuplicates(ledger, service.losses, {
      prefetch: PREFETCH,
      sinkLosses: sink.losses(),
      sinkPrefetch: SINK_PREFETCH,
    })
    recordFigure({
      id: '3-cluster-kill',
      scenario: '3. kill -9 of the service’s node in a 3-node cluster, quorum queues',
      messages: ledger.confirmed.size,
      lost: ledger.lost.length,
      duplicates: ledger.duplicates,
      bound: account.bound,
      inHand: account.inHand.reduce((a, b) => a + b, 0),
      resumeMs,
      notes: `service on node ${victim}, then node ${connectedTo.slice(1).join(', ')}; resume counted from the kill; the stream went on until the node was back; ${ledger.redeliveries} redeliveries to the service; downstream consumer lost its connection ${sink.losses()}×; producer: ${[...ledger.rejections].map(([code, n]) => `${n} ${code}`).join(', ') || 'no'} rejections; ${describeAccount(account)}`,
    })
    expect(victim).toBe(1)
    expect(connectedTo).toHaveLength(2)
    expect(connectedTo[1]).not.toBe(victim)
    expect(ledger.confirmed.size).toBeGreaterThanOrEqual(EVENTS)
    expect(ledger.lost).toEqual([])
    expect(ledger.strangers).toEqual([])
    expect(ledger.redeliveries).toBeGreaterThan(0)
    expect(service.losses.map((l) => l.generation)).toEqual([1])
    expect(account.inHand.filter((n) => n === 0)).toEqual([])
    expect(account.unexplained).toEqual([])
    expect(account.duplicates).toBe(ledger.duplicates)
    expect(ledger.duplicates).toBeLessThanOrEqual(account.bound)
    expect(resumeMs).toBeLessThan(5_000)
  })
})

/** A publish-only service. */
class Emitter extends Service {
  readonly name = uniqueName('rel-emitter')
  protected handlers(): Handlers {
    return {}
  }
}

describe('fault 4: a publisher buffering while its node is killed and brought back', () => {
  it('delivers every confirmed publish, reports every other one to the caller, with the buffer bounded', async () => {
    const event = uniqueName('Buffered')
    const ledger = new Ledger()
    const MAX_BUFFERED = 1_000
    const RATE = 1_000
    const reconnect = { initialDelayMs: 50, maxDelayMs: 1_000 }
    await using sink = await openSink({
      urls: [urls[1] as string],
      routingKey: event,
      ledger,
      connectionName: uniqueName('rel-sink'),
      queue: uniqueName('rel-sink'),
      arguments: QUORUM,
      supervisor: { reconnect, logger: capture.logger('sink') },
    })
    // Only node 3's URL: it stays disconnected until the node is back, publishing all along.
    const victim = 3
    await using emitter = new Emitter({
      urls: [urls[victim - 1] as string],
      handleSignals: false,
      logger: capture.logger('emitter'),
      supervisor: { reconnect, buffer: { maxMessages: MAX_BUFFERED } },
    })
    await emitter.start()
    const supervisor = emitter.supervisor as SupervisorLike
    let reconnectedAt = Number.POSITIVE_INFINITY
    supervisor.on('connected', () => {
      reconnectedAt = Date.now()
    })
    const outcomes = new Map<string, string>()
    const pending = new Set<Promise<void>>()
    let seq = 0
    let maxBuffered = 0
    let maxBytes = 0
    const heap0 = process.memoryUsage().heapUsed
    let heapMax = heap0
    let publishing = true
    const publisher = (async () => {
      const started = Date.now()
      while (publishing) {
        const due = started + (seq * 1000) / RATE
        if (due > Date.now()) await sleep(due - Date.now())
        const id = `${event}-${seq++}`
        const work = emitter.publishEvent(event, { id }, { conversationId: id }).then(
          () => {
            ledger.confirm(id)
            outcomes.set(id, 'confirmed')
          },
          (error: PublishError) => {
            ledger.reject(id, error.code)
            outcomes.set(id, error.code)
          },
        )
        pending.add(work)
        void work.finally(() => pending.delete(work))
        const stats = supervisor.stats()
        maxBuffered = Math.max(maxBuffered, stats.buffered)
        maxBytes = Math.max(maxBytes, stats.bufferedBytes)
        if (seq % 200 === 0) heapMax = Math.max(heapMax, process.memoryUsage().heapUsed)
      }
    })()
    await waitFor(() => ledger.confirmed.size >= 2_000, 30_000, 'publishing under way')
    const gen = supervisor.generation
    await cluster.killNode(victim)
    await waitFor(() => !supervisor.isConnected, 10_000, 'the publisher to notice')
    const firstBuffered = seq
    await cluster.startNode(victim)
    const upAt = Date.now()
    await waitFor(() => supervisor.generation > gen && supervisor.isConnected, 60_000, 'the publisher back')
    // Publishing goes on until 1,000 publishes made after the return are confirmed.
    const lastId = `${event}-${seq + 1_000}`
    await waitFor(() => outcomes.get(lastId) === 'confirmed', 60_000, '1,000 publishes after the return confirmed')
    publishing = false
    await publisher
    await waitFor(() => pending.size === 0, 60_000, 'every publish settled')
    await waitFor(() => ledger.lost.length === 0, 60_000, 'every confirmed publish downstream')
    await drained((...args) => cluster.ctl(2, ...args), '/', [sink.queue()])

    const flushedAt = Math.min(
      ...[...sink.arrivals].filter(([id]) => Number(id.slice(event.length + 1)) >= firstBuffered).map(([, at]) => at),
    )
    // The node takes connections before its start script returns: back = whichever came first.
    const backAt = Math.min(upAt, reconnectedAt)
    const fullIds = [...outcomes].filter(([, code]) => code === 'PUBLISH_BUFFER_FULL').map(([id]) => id)
    const heapGrowthMb = (heapMax - heap0) / 1024 / 1024
    recordFigure({
      id: '4-publisher-buffer',
      scenario: '4. publisher buffering while its node is killed (kill -9) and brought back',
      messages: seq,
      lost: ledger.lost.length,
      duplicates: ledger.duplicates,
      // Nothing here is in hand at the fault: the publisher consumes nothing, and the consumer
      // downstream (node 2) keeps its connection; a rejected publish is reported, not repeated.
      bound: 0,
      resumeMs: flushedAt - backAt,
      notes: `${RATE} publishes/s by a publish-only service given node ${victim} only; ${ledger.confirmed.size} confirmed and delivered, ${[...ledger.rejections].map(([code, n]) => `${n} ${code}`).join(', ')} reported to the caller, 0 unsettled; buffer peak ${maxBuffered} messages / ${maxBytes} bytes (limit ${MAX_BUFFERED}); heap growth ${heapGrowthMb.toFixed(1)} MB; resume = node back (its start script returned, or the publisher reconnected, whichever came first) → first buffered message downstream`,
    })
    expect(outcomes.size).toBe(seq)
    expect(ledger.lost).toEqual([])
    expect(ledger.strangers).toEqual([])
    expect(sink.losses()).toBe(0)
    expect(ledger.duplicates).toBe(0)
    expect(fullIds.length).toBeGreaterThan(0)
    expect(fullIds.filter((id) => ledger.delivered.has(id))).toEqual([])
    expect(maxBuffered).toBeLessThanOrEqual(MAX_BUFFERED)
    expect(flushedAt - backAt).toBeLessThan(5_000)
    expect(heapGrowthMb).toBeLessThan(100)
  })

  it('never shows the password of the cluster user in what was logged or thrown', () => {
    expect(capture.lines.length).toBeGreaterThan(5)
    expect(capture.find(secret)).toEqual([])
  })
})
