import { createSupervisor, type Delivery, defineTopology, type Supervisor } from '@am/bus-core'
import { encode } from '@am/codec'
import { eventProperties, type Handlers, RETRY_HEADERS, Service, type ServiceOptions, waitQueueName } from '@am/service'
import { rabbitmqctl, startCluster, type ThrowawayCluster, uniqueName, waitFor } from '@am/testkit'
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest'
import { recordFigure } from './support/figures.js'

// Delayed retries (issue 17 §3): a dependency down for a while, and waiting messages through a
// broker restart (one throwaway node on 5901, never the shared broker).
const url = inject('amqpUrl')
const vhost = decodeURIComponent(new URL(url).pathname.slice(1)) || '/'
const MESSAGES = Number(process.env.RELIABILITY_RETRY_MESSAGES ?? 500)
const DOWN_MS = 5_000
const DELAYS = [1_000, 2_000, 4_000, 8_000]
const RESTART_PORT = 5900
const RESTART_DELAY_MS = 15_000

/** Handles `<key>` events `{ i }`, failing while `failing(i, attempt)` says so; counts everything. */
class Worker extends Service {
  readonly attempts = new Map<number, number>()
  readonly handled = new Map<number, number>()
  lastHandledAt = 0

  constructor(
    readonly name: string,
    private readonly key: string,
    private readonly failing: (i: number, attempt: number) => boolean,
    options: ServiceOptions,
  ) {
    super(options)
  }

  protected handlers(): Handlers {
    return {
      events: {
        [this.key]: (payload, ctx) => {
          const i = (payload as { i: number }).i
          const attempt = Number(ctx.headers[RETRY_HEADERS.attempt] ?? 0) + 1
          this.attempts.set(i, (this.attempts.get(i) ?? 0) + 1)
          if (this.failing(i, attempt)) throw new Error(`dependency unavailable (attempt ${attempt})`)
          this.handled.set(i, (this.handled.get(i) ?? 0) + 1)
          this.lastHandledAt = performance.now()
        },
      },
    }
  }
}

async function peer(urls: string): Promise<Supervisor> {
  const bus = createSupervisor({ urls, connectionName: uniqueName('rel-retry-peer') })
  onTestFinished(() => bus.destroy())
  await bus.ready()
  return bus
}

async function publishAll(bus: Supervisor, key: string, count: number): Promise<void> {
  const sends: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    sends.push(bus.publish('events', key, encode({ i }, 'application/cbor'), eventProperties(`conv-${i}`)))
  }
  await Promise.all(sends)
}

/** A dead-letter exchange for the queues of `service` only, and the dead letters it collects. */
async function deadLetters(bus: Supervisor, service: string): Promise<Delivery[]> {
  const exchange = uniqueName('rel-dlx')
  const policy = uniqueName('rel-dlx-policy')
  await bus.extendTopology(
    defineTopology({
      exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: true }],
      queues: [{ key: exchange, name: '' }],
      bindings: [{ queue: exchange, exchange, routingKey: '#' }],
    }),
  )
  const letters: Delivery[] = []
  await bus.consume(
    exchange,
    (d) => {
      letters.push(d)
      d.ack()
    },
    { prefetch: 100 },
  )
  const pattern = `^${service.replace(/[.-]/g, (c) => `\\${c}`)}\\.(events|commands)$`
  await rabbitmqctl(
    'set_policy',
    '-p',
    vhost,
    policy,
    pattern,
    JSON.stringify({ 'dead-letter-exchange': exchange }),
    '--apply-to',
    'queues',
  )
  onTestFinished(() => rabbitmqctl('clear_policy', '-p', vhost, policy).then(() => undefined))
  return letters
}

async function deleteQueues(urls: string, names: string[]): Promise<void> {
  const bus = createSupervisor({ urls })
  await bus
    .withChannel(async (channel) => {
      for (const name of names) {
        await channel.deleteQueue(name)
        await channel.deleteExchange(name).catch(() => undefined)
      }
    })
    .catch(() => undefined)
  await bus.destroy()
}

function spread(counts: Iterable<number>): { min: number; mean: number; max: number } {
  const list = [...counts]
  const sum = list.reduce((a, b) => a + b, 0)
  return { min: Math.min(...list), mean: Math.round((sum / list.length) * 100) / 100, max: Math.max(...list) }
}

describe('delayed retries: a dependency down', () => {
  it(`handles every one of ${MESSAGES} events after a dependency down ${DOWN_MS / 1000} s, none dead-lettered (delays ${DELAYS.join(', ')} ms)`, async () => {
    const name = uniqueName('rel-retry')
    const key = uniqueName('RelRetry')
    onTestFinished(() =>
      deleteQueues(url, [`${name}.events`, ...DELAYS.map((delay) => waitQueueName(name, 'events', delay))]),
    )
    const bus = await peer(url)
    const letters = await deadLetters(bus, name)
    let upAt = Number.POSITIVE_INFINITY
    await using worker = new Worker(name, key, () => performance.now() < upAt, {
      urls: url,
      handleSignals: false,
      prefetch: 50,
      retry: { delaysMs: DELAYS },
    })
    await worker.start()
    const started = performance.now()
    upAt = started + DOWN_MS
    await publishAll(bus, key, MESSAGES)
    await waitFor(() => worker.handled.size === MESSAGES, 60_000, `${MESSAGES} events handled`)
    const drainedMs = Math.round(worker.lastHandledAt - started)
    await waitFor(async () => (await bus.checkQueue(`${name}.events`)).messageCount === 0, 10_000, 'an empty queue')
    const waiting = await Promise.all(
      DELAYS.map(async (delay) => (await bus.checkQueue(waitQueueName(name, 'events', delay))).messageCount),
    )
    const attempts = spread(worker.attempts.values())
    const duplicates = [...worker.handled.values()].reduce((sum, n) => sum + n - 1, 0)
    recordFigure({
      id: 'retry-1-dependency-down',
      scenario: `delayed retries [${DELAYS.join(', ')}] ms, dependency down ${DOWN_MS / 1000} s`,
      messages: MESSAGES,
      lost: MESSAGES - worker.handled.size,
      duplicates,
      resumeMs: Math.round(worker.lastHandledAt - upAt),
      notes: `attempts per message min ${attempts.min} / mean ${attempts.mean} / max ${attempts.max}; all handled ${drainedMs} ms after the first publish; ${letters.length} dead-lettered`,
    })
    expect({ handled: worker.handled.size, waiting, dead: letters.length, duplicates }).toEqual({
      handled: MESSAGES,
      waiting: DELAYS.map(() => 0),
      dead: 0,
      duplicates: 0,
    })
    expect(attempts.min).toBeGreaterThanOrEqual(2)
    expect(attempts.max).toBeLessThanOrEqual(DELAYS.length + 1)
  })

  it(`without the retry option (eventail's requeue-once), the same outage dead-letters the stream`, async () => {
    const name = uniqueName('rel-noretry')
    const key = uniqueName('RelNoRetry')
    onTestFinished(() => deleteQueues(url, [`${name}.events`]))
    const bus = await peer(url)
    const letters = await deadLetters(bus, name)
    const started = performance.now()
    const upAt = started + DOWN_MS
    await using worker = new Worker(name, key, () => performance.now() < upAt, {
      urls: url,
      handleSignals: false,
      prefetch: 50,
    })
    await worker.start()
    await publishAll(bus, key, MESSAGES)
    await waitFor(() => letters.length === MESSAGES, 60_000, `${MESSAGES} dead letters`)
    const deadMs = Math.round(performance.now() - started)
    recordFigure({
      id: 'retry-2-no-retry',
      scenario: `eventail's requeue-once, dependency down ${DOWN_MS / 1000} s`,
      messages: MESSAGES,
      lost: null,
      duplicates: null,
      resumeMs: null,
      notes: `${letters.length} dead-lettered within ${deadMs} ms, ${worker.handled.size} handled`,
    })
    expect({ dead: letters.length, handled: worker.handled.size }).toEqual({ dead: MESSAGES, handled: 0 })
  })
})

describe('delayed retries: waiting messages survive a broker restart and a service restart', () => {
  let cluster: ThrowawayCluster | undefined

  // In a hook: the machine runs one throwaway cluster at a time, and the wait for another suite's
  // may be long.
  beforeAll(async () => {
    cluster = await startCluster(1, RESTART_PORT)
  }, 600_000)

  afterAll(async () => {
    await cluster?.stop()
  }, 120_000)

  it.each(['classic', 'quorum'] as const)(
    '%s queues: every waiting message comes back after the node restarts',
    async (queueType) => {
      if (!cluster) throw new Error('no throwaway node')
      const nodeUrl = cluster.urls[0] as string
      const name = uniqueName(`rel-wait-${queueType}`)
      const key = uniqueName('RelWait')
      const count = 200
      const t0 = performance.now()
      const step = (what: string): void =>
        console.info(`[retry-restart ${queueType}] +${Math.round(performance.now() - t0)} ms ${what}`)
      const options: ServiceOptions = {
        urls: nodeUrl,
        handleSignals: false,
        prefetch: 50,
        queueType,
        retry: { delaysMs: [RESTART_DELAY_MS] },
        supervisor: { reconnect: { initialDelayMs: 50, maxDelayMs: 1_000 } },
      }
      // The first attempt of each message fails: all of them wait in the wait queue.
      const first = new Worker(name, key, (_i, attempt) => attempt === 1, options)
      await first.start()
      step('first instance started')
      const bus = createSupervisor({ urls: nodeUrl, connectionName: uniqueName('rel-wait-peer') })
      await bus.ready()
      await publishAll(bus, key, count)
      const wait = waitQueueName(name, 'events', RESTART_DELAY_MS)
      await waitFor(async () => (await bus.checkQueue(wait)).messageCount === count, 30_000, `${count} waiting`)
      step(`${count} waiting in ${wait}`)
      await first.stop()
      await bus.destroy()
      step('first instance stopped')
      const down = performance.now()
      await cluster.stopNode(1)
      step('node stopped')
      await cluster.startNode(1)
      step('node started')
      const second = new Worker(name, key, () => false, options)
      onTestFinished(() => second.stop())
      await second.start()
      step('second instance started')
      await waitFor(() => second.handled.size === count, 120_000, `${count} handled after the restart`)
      step('all handled')
      const back = Math.round(second.lastHandledAt - down)
      const check = createSupervisor({ urls: nodeUrl })
      onTestFinished(() => check.destroy())
      await check.ready()
      const left = [
        (await check.checkQueue(`${name}.events`)).messageCount,
        (await check.checkQueue(wait)).messageCount,
      ]
      const duplicates = [...second.handled.values()].reduce((sum, n) => sum + n - 1, 0)
      recordFigure({
        id: `retry-3-restart-${queueType}`,
        scenario: `delayed retries through a node restart (${queueType} queues, delay ${RESTART_DELAY_MS} ms)`,
        messages: count,
        lost: count - second.handled.size,
        duplicates,
        resumeMs: null,
        notes: `all ${count} waiting messages handled by a new instance ${back} ms after the node was stopped; first instance attempts ${first.attempts.size}`,
      })
      expect({ handled: second.handled.size, firstHandled: first.handled.size, left, duplicates }).toEqual({
        handled: count,
        firstHandled: 0,
        left: [0, 0],
        duplicates: 0,
      })
    },
    420_000,
  )
})
