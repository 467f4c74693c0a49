import { closeConnections, listConnections, startProxy, uniqueName, waitFor } from '@am/testkit'
import { connect } from 'amqplib'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import {
  createSupervisor,
  type Delivery,
  defineTopology,
  eventailTopology,
  PublishError,
  type SupervisorOptions,
  type Topology,
} from '../src/index.js'

const url = inject('amqpUrl')

/** A supervisor closed at the end of the test, with a unique connection name to find it by. */
function supervise(options: Partial<SupervisorOptions> = {}) {
  const connectionName = uniqueName('bus-core-test')
  const supervisor = createSupervisor({ urls: url, connectionName, ...options })
  onTestFinished(() => supervisor.destroy())
  return { supervisor, connectionName }
}

/** A durable-free private topology: a topic exchange and an auto-delete queue bound with `#`. */
function privateTopology(extra: Partial<Topology> = {}): { topology: Topology; exchange: string; queue: string } {
  const exchange = uniqueName('x')
  const queue = uniqueName('q')
  const topology = defineTopology({
    exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: true }, ...(extra.exchanges ?? [])],
    queues: [{ key: 'q', name: queue, durable: false, autoDelete: true }, ...(extra.queues ?? [])],
    bindings: [{ queue: 'q', exchange, routingKey: '#' }, ...(extra.bindings ?? [])],
  })
  return { topology, exchange, queue }
}

async function rawChannel() {
  const connection = await connect(url)
  onTestFinished(() => connection.close().catch(() => undefined))
  const channel = await connection.createChannel()
  channel.on('error', () => undefined)
  return { connection, channel }
}

describe('Supervisor on a real broker', () => {
  it('connects with its connection name, declares its topology and round-trips a confirmed message', async () => {
    const { topology, exchange, queue } = privateTopology()
    const { supervisor, connectionName } = supervise({ topology })
    await supervisor.ready()
    expect((await listConnections()).filter((c) => c.name === connectionName)).toHaveLength(1)

    const received: Delivery[] = []
    await supervisor.consume('q', (delivery) => {
      received.push(delivery)
      delivery.ack()
    })
    await supervisor.publish(exchange, 'a.b', Buffer.from('hello'), {
      persistent: true,
      contentType: 'application/cbor',
      headers: { conversation_id: 'c-1' },
      correlationId: '',
      replyTo: '',
    })
    await waitFor(() => received.length === 1)
    const [delivery] = received
    expect({
      body: delivery?.body.toString(),
      routingKey: delivery?.routingKey,
      queue: delivery?.queue,
      headers: delivery?.headers,
      correlationId: delivery?.properties.correlationId,
      replyTo: delivery?.properties.replyTo,
      deliveryMode: delivery?.properties.deliveryMode,
      generation: delivery?.generation,
    }).toEqual({
      body: 'hello',
      routingKey: 'a.b',
      queue,
      headers: { conversation_id: 'c-1' },
      correlationId: '',
      replyTo: '',
      deliveryMode: 2,
      generation: 1,
    })
    await waitFor(
      async () => (await supervisor.checkQueue(queue)).messageCount === 0 && supervisor.stats().unsettled === 0,
    )
  })

  it('declares over queues and exchanges created the eventail way', async () => {
    const service = uniqueName('eventail-svc')
    const { channel } = await rawChannel()
    // What eventail 2.3.6 declares (docs/protocol.md#topology): durable topic exchanges, durable queues without arguments.
    for (const name of ['events', 'commands', 'configurations', 'logs']) {
      await channel.assertExchange(name, 'topic', { durable: true, autoDelete: false, internal: false })
    }
    for (const kind of ['events', 'commands']) {
      await channel.assertQueue(`${service}.${kind}`, { durable: true, exclusive: false, autoDelete: false })
    }
    onTestFinished(async () => {
      const { channel: cleanup } = await rawChannel()
      await cleanup.deleteQueue(`${service}.events`)
      await cleanup.deleteQueue(`${service}.commands`)
    })
    const { supervisor } = supervise({
      topology: eventailTopology({
        service,
        events: ['SomethingHappened'],
        commands: [`${service}.Do`],
        configurations: ['Cfg'],
      }),
    })
    await supervisor.ready()
    expect(supervisor.queueName('events')).toBe(`${service}.events`)
    expect(supervisor.queueName('configurations')).toMatch(/^amq\.gen-/)
  })

  it('stops with a typed error naming the attribute when an exchange exists with another type', async () => {
    const exchange = uniqueName('clash')
    const { channel } = await rawChannel()
    await channel.assertExchange(exchange, 'direct', { durable: false, autoDelete: true })
    await channel.bindExchange(exchange, 'amq.direct', exchange) // keeps the auto-delete exchange alive
    const reconnects: number[] = []
    const { supervisor } = supervise({
      topology: defineTopology({ exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: true }] }),
    })
    supervisor.on('reconnecting', ({ attempt }) => reconnects.push(attempt))
    const error = await supervisor.ready().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({
      name: 'TopologyError',
      code: 'TOPOLOGY_PRECONDITION_FAILED',
      conflict: { kind: 'exchange', name: exchange, attribute: 'type', declared: "'topic'", current: "'direct'" },
    })
    // close() waits for the connection loop to end: a supervisor that scheduled a reconnection
    // would have said so ('reconnecting' comes before the wait) by the time it resolves.
    await supervisor.close()
    expect([supervisor.state, reconnects]).toEqual(['failed', []])
    await channel.deleteExchange(exchange)
  })

  it('names x-queue-type when a classic queue is redeclared as quorum', async () => {
    const service = uniqueName('quorum-clash')
    const { channel } = await rawChannel()
    await channel.assertQueue(`${service}.events`, { durable: true })
    onTestFinished(async () => {
      const { channel: cleanup } = await rawChannel()
      await cleanup.deleteQueue(`${service}.events`)
    })
    const { supervisor } = supervise({ topology: eventailTopology({ service, events: ['E'], queueType: 'quorum' }) })
    await expect(supervisor.ready()).rejects.toMatchObject({
      code: 'TOPOLOGY_PRECONDITION_FAILED',
      conflict: { kind: 'queue', name: `${service}.events`, attribute: 'x-queue-type' },
    })
  })

  it('rejects an unroutable mandatory publish with PUBLISH_RETURNED and resolves a routable one', async () => {
    const { topology, exchange } = privateTopology()
    const lonely = uniqueName('lonely')
    const { supervisor } = supervise({
      topology: defineTopology({
        ...topology,
        exchanges: [...topology.exchanges, { name: lonely, type: 'topic', durable: false, autoDelete: true }],
      }),
    })
    await supervisor.ready()
    const returned: string[] = []
    supervisor.on('returned', (message) => returned.push(message.routingKey))
    const results = await Promise.allSettled([
      supervisor.publish(exchange, 'routed', Buffer.from('a'), { mandatory: true }),
      supervisor.publish(lonely, 'nowhere', Buffer.from('b'), { mandatory: true }),
      supervisor.publish(lonely, 'nowhere', Buffer.from('c'), { mandatory: false }),
    ])
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code))).toEqual([
      'ok',
      'PUBLISH_RETURNED',
      'ok',
    ])
    const reason = (results[1] as PromiseRejectedResult).reason
    expect(reason instanceof PublishError && reason.returned?.body.toString()).toBe('b')
    expect(returned).toEqual(['nowhere'])
  })

  it('matches each return to its own publish among many mandatory publishes in flight', async () => {
    const exchange = uniqueName('x')
    const topology = defineTopology({
      exchanges: [{ name: exchange, type: 'direct', durable: false, autoDelete: true }],
      queues: [{ key: 'q', name: uniqueName('q'), durable: false, autoDelete: true }],
      bindings: [{ queue: 'q', exchange, routingKey: 'routed' }],
    })
    const { supervisor } = supervise({ topology })
    await supervisor.ready()
    const keys = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 'routed' : i % 3 === 1 ? 'lost' : 'gone'))
    const results = await Promise.allSettled(
      keys.map((key, i) => supervisor.publish(exchange, key, Buffer.from(`m${i}`), { mandatory: true })),
    )
    const outcomes = results.map((r) =>
      r.status === 'fulfilled'
        ? 'ok'
        : `${(r.reason as PublishError).code} ${(r.reason as PublishError).returned?.body}`,
    )
    expect(outcomes).toEqual(keys.map((key, i) => (key === 'routed' ? 'ok' : `PUBLISH_RETURNED m${i}`)))
    expect(supervisor.stats()).toMatchObject({ unconfirmed: 0 })
  })

  it('rejects a publish the broker nacks with PUBLISH_NACKED', async () => {
    const exchange = uniqueName('x')
    const topology = defineTopology({
      exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: true }],
      queues: [
        {
          key: 'full',
          name: uniqueName('full'),
          durable: false,
          autoDelete: true,
          arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
        },
      ],
      bindings: [{ queue: 'full', exchange, routingKey: '#' }],
    })
    const { supervisor } = supervise({ topology })
    await supervisor.ready()
    await supervisor.publish(exchange, 'k', Buffer.from('1'))
    await expect(supervisor.publish(exchange, 'k', Buffer.from('2'))).rejects.toMatchObject({ code: 'PUBLISH_NACKED' })
  })

  it('publishes on a new confirm channel after a nack, and closes the old one once its publishes are confirmed', async () => {
    // Why: a RabbitMQ 3.10 channel that first published to a quorum queue during a leader election
    // is nacked for as long as it lives (see bench's cluster scenario); here a full queue nacks.
    const exchange = uniqueName('x')
    const full = uniqueName('full')
    const topology = defineTopology({
      exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: true }],
      queues: [
        {
          key: 'full',
          name: full,
          durable: false,
          autoDelete: true,
          arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
        },
      ],
      bindings: [{ queue: 'full', exchange, routingKey: '#' }],
    })
    const { supervisor, connectionName } = supervise({ topology })
    const replaced: number[] = []
    supervisor.on('channelReplaced', ({ generation }) => replaced.push(generation))
    await supervisor.ready()
    const channels = async () => (await listConnections()).find((c) => c.name === connectionName)?.channels
    expect(await channels()).toBe(3)
    await supervisor.publish(exchange, 'k', Buffer.from('1'))
    expect(replaced).toEqual([])
    await expect(supervisor.publish(exchange, 'k', Buffer.from('2'))).rejects.toMatchObject({ code: 'PUBLISH_NACKED' })
    await waitFor(() => replaced.length === 1, 5_000, 'the channel replaced')
    expect(replaced).toEqual([1])
    // The old channel closed once its last publish was confirmed: main, log and consume again.
    await waitFor(async () => (await channels()) === 3, 10_000, 'the old channel closed')
    await supervisor.withChannel((channel) => channel.purgeQueue(full))
    await supervisor.publish(exchange, 'k', Buffer.from('3'))
    expect([(await supervisor.checkQueue(full)).messageCount, supervisor.stats().unconfirmed]).toEqual([1, 0])
  })

  it('keeps many publishes in flight at once', async () => {
    const { topology, exchange, queue } = privateTopology()
    const { supervisor } = supervise({ topology, confirmWindow: 100 })
    await supervisor.ready()
    let maxInFlight = 0
    const publishes = Array.from({ length: 1000 }, (_, i) => {
      const p = supervisor.publish(exchange, 'k', Buffer.from(String(i)))
      maxInFlight = Math.max(maxInFlight, supervisor.stats().unconfirmed)
      return p
    })
    await Promise.all(publishes)
    expect(maxInFlight).toBe(100)
    expect((await supervisor.checkQueue(queue)).messageCount).toBe(1000)
  })

  it('loses no confirmed message while its connection is force-closed 5 times mid-stream', async () => {
    expect.hasAssertions()
    const { topology, exchange } = privateTopology()
    // a durable queue would outlive the test: auto-delete survives reconnects only while consumed, so use a named durable one and delete it
    const queue = uniqueName('stream')
    const streamTopology = defineTopology({
      exchanges: topology.exchanges,
      queues: [{ key: 'stream', name: queue, durable: true, autoDelete: false }],
      bindings: [{ queue: 'stream', exchange, routingKey: '#' }],
    })
    onTestFinished(async () => {
      const { channel } = await rawChannel()
      await channel.deleteQueue(queue)
    })
    const { supervisor, connectionName } = supervise({ topology: streamTopology })
    await supervisor.ready()
    const prefetch = 50
    const seen = new Map<string, number>()
    const duplicates: Array<{ id: string; first: number; generation: number; redelivered: boolean }> = []
    // Before each close the consumer holds its deliveries unacknowledged, so the close has some to
    // requeue: `requeued` lists them, by the connection they came on.
    let holding = false
    const held: Delivery[] = []
    const requeued: Array<{ id: string; generation: number }> = []
    await supervisor.consume(
      'stream',
      (delivery) => {
        const id = delivery.body.toString()
        const first = seen.get(id)
        if (first === undefined) seen.set(id, delivery.generation)
        else duplicates.push({ id, first, generation: delivery.generation, redelivered: delivery.redelivered })
        if (holding) held.push(delivery)
        else delivery.ack()
      },
      { prefetch },
    )
    const confirmed = new Set<string>()
    const failed: string[] = []
    const resumes: number[] = []
    let lostAt = 0
    supervisor.on('disconnected', () => {
      lostAt = Date.now()
    })
    supervisor.on('connected', () => {
      if (lostAt) resumes.push(Date.now() - lostAt)
    })
    let kills = 0
    const total = 3000
    const publishes: Promise<void>[] = []
    for (let i = 0; i < total; i++) {
      const id = String(i)
      publishes.push(
        supervisor.publish(exchange, 'k', Buffer.from(id), { persistent: true }).then(
          () => void confirmed.add(id),
          (error: unknown) => void failed.push((error as { code: string }).code),
        ),
      )
      if (i % 600 === 250) holding = true
      else if (i % 600 === 300) {
        // mid-stream: the 50 messages published since holding began come to the consumer
        await waitFor(() => held.length > 0, 10_000, 'a delivery held unacknowledged')
        const generation = supervisor.generation
        kills += await closeConnections(connectionName)
        await waitFor(() => supervisor.state === 'connected', 10_000, 'reconnection')
        holding = false
        for (const delivery of held.splice(0)) {
          if (delivery.generation === generation) {
            requeued.push({ id: delivery.body.toString(), generation })
            expect(delivery.ack()).toBe(false)
          } else expect(delivery.ack()).toBe(true)
        }
      } else if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await Promise.all(publishes)
    await waitFor(() => [...confirmed].every((id) => seen.has(id)), 20_000, 'every confirmed message to be consumed')
    expect(kills).toBe(5)
    expect(confirmed.size + failed.length).toBe(total)
    expect(new Set(failed)).toEqual(new Set(failed.length ? ['PUBLISH_CHANNEL_CLOSED'] : []))
    expect(supervisor.generation).toBe(6)
    // A message is delivered again only because a close requeued it: the broker flags it
    // redelivered, on a later connection. A close requeues what the broker counts unacknowledged
    // on the consuming channel, at most `prefetch`: by the end of generation g, at most
    // (g - 1) × prefetch repeats.
    expect(duplicates.filter((d) => !d.redelivered || d.generation <= d.first)).toEqual([])
    expect(
      requeued.filter(({ id, generation }) => !duplicates.some((d) => d.id === id && d.generation > generation)),
    ).toEqual([])
    expect(requeued.length).toBeGreaterThanOrEqual(kills)
    for (let generation = 1; generation <= 6; generation++) {
      const repeats = duplicates.filter((d) => d.generation <= generation).length
      expect(repeats, `repeats by the end of generation ${generation}`).toBeLessThanOrEqual((generation - 1) * prefetch)
    }
    console.info(
      `recovery: ${confirmed.size} confirmed, ${failed.length} rejected, ${duplicates.length} duplicates (${requeued.length} held at a close); connection lost → consuming again: ${resumes.join(', ')} ms`,
    )
  })

  it('makes an ack of a delivery from before a reconnection a no-op, without closing the new channel', async () => {
    const { topology, exchange } = privateTopology()
    const queue = uniqueName('stale')
    const staleTopology = defineTopology({
      exchanges: topology.exchanges,
      queues: [{ key: 'q', name: queue, durable: true }],
      bindings: [{ queue: 'q', exchange, routingKey: '#' }],
    })
    onTestFinished(async () => {
      const { channel } = await rawChannel()
      await channel.deleteQueue(queue)
    })
    const { supervisor, connectionName } = supervise({ topology: staleTopology })
    await supervisor.ready()
    const received: Delivery[] = []
    await supervisor.consume('q', (delivery) => received.push(delivery))
    await supervisor.publish(exchange, 'k', Buffer.from('x'), { persistent: true })
    await waitFor(() => received.length === 1)
    await closeConnections(connectionName)
    await waitFor(() => received.length === 2, 10_000, 'redelivery after reconnection')
    const [stale, fresh] = received
    expect([stale?.generation, fresh?.generation, fresh?.redelivered]).toEqual([1, 2, true])
    const losses: number[] = []
    supervisor.on('disconnected', ({ generation }) => losses.push(generation))
    expect(stale?.ack()).toBe(false)
    expect(fresh?.ack()).toBe(true)
    // The acks go out before this publish on the same socket, so the broker has handled them when
    // it delivers the next message: a wrong tag would have closed the channel, and the next
    // message would come on a new connection.
    await supervisor.publish(exchange, 'k', Buffer.from('y'), { persistent: true })
    await waitFor(() => received.length === 3, 10_000, 'the next message')
    const next = received[2]
    expect([next?.body.toString(), next?.generation, next?.redelivered, next?.ack()]).toEqual(['y', 2, false, true])
    await waitFor(
      async () => (await supervisor.checkQueue(queue)).messageCount === 0 && supervisor.stats().unsettled === 0,
    )
    expect([supervisor.generation, supervisor.state, losses]).toEqual([2, 'connected', []])
  })

  it('follows a server-named queue whose name changes at every connection', async () => {
    const exchange = uniqueName('x')
    const topology = defineTopology({
      exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: true }],
      queues: [{ key: 'mine', name: '' }],
      bindings: [{ queue: 'mine', exchange, routingKey: '#' }],
    })
    const { supervisor, connectionName } = supervise({ topology })
    await supervisor.ready()
    const bodies: string[] = []
    const consumer = await supervisor.consume('mine', (d) => {
      bodies.push(d.body.toString())
      d.ack()
    })
    const first = consumer.queue
    await closeConnections(connectionName)
    await waitFor(() => supervisor.generation === 2 && supervisor.state === 'connected', 10_000)
    expect(consumer.queue).not.toBe(first)
    expect(consumer.queue).toMatch(/^amq\.gen-/)
    await supervisor.publish(exchange, 'k', Buffer.from('after'))
    await waitFor(() => bodies.includes('after'))
  })

  it('buffers publishes while disconnected up to its bound, then rejects them typed', async () => {
    const budget = 3_000
    const { supervisor } = supervise({
      urls: 'amqp://guest:guest@127.0.0.1:1/',
      buffer: { maxMessages: 2 },
      closeTimeoutMs: budget,
    })
    const first = supervisor.publish('events', 'a', Buffer.from('1'))
    const second = supervisor.publish('events', 'b', Buffer.from('2'))
    await expect(supervisor.publish('events', 'c', Buffer.from('3'))).rejects.toMatchObject({
      code: 'PUBLISH_BUFFER_FULL',
    })
    expect(supervisor.stats()).toMatchObject({ buffered: 2, bufferedBytes: 2 })
    const started = Date.now()
    await supervisor.close()
    // with no connection there is nothing to wait for: it does not spend its close budget
    expect(Date.now() - started).toBeLessThan(budget)
    await expect(first).rejects.toMatchObject({ code: 'SUPERVISOR_CLOSED' })
    await expect(second).rejects.toMatchObject({ code: 'SUPERVISOR_CLOSED' })
  })

  it('closes promptly in every state and is idempotent', async () => {
    const timings: Record<string, number> = {}
    const time = async (label: string, close: () => Promise<void>) => {
      const started = Date.now()
      await close()
      timings[label] = Date.now() - started
    }
    // Each has something it must not wait out: the close budget, and for the first the reconnection delay.
    const budget = 3_000
    // waiting to reconnect to a dead port
    const dead = createSupervisor({
      urls: 'amqp://127.0.0.1:1',
      reconnect: { initialDelayMs: 5_000 },
      closeTimeoutMs: budget,
    })
    await new Promise((resolve) => dead.once('reconnecting', resolve))
    await time('reconnecting', () => dead.close())
    // right after creation, while connecting
    const fresh = createSupervisor({ urls: url, closeTimeoutMs: budget })
    await time('connecting', () => fresh.close())
    // connected, with a consumer and a confirmed publish in flight
    const { topology, exchange } = privateTopology()
    const live = createSupervisor({ urls: url, topology, closeTimeoutMs: budget })
    await live.ready()
    await live.consume('q', (d) => d.ack())
    const inFlight = live.publish(exchange, 'k', Buffer.from('x'))
    await time('connected', () => live.close())
    await expect(inFlight).resolves.toBeUndefined()
    await time('again', () => live.close())
    expect([dead.state, fresh.state, live.state]).toEqual(['closed', 'closed', 'closed'])
    for (const ms of Object.values(timings)) expect(ms).toBeLessThan(budget)
    await expect(fresh.ready()).rejects.toMatchObject({ code: 'SUPERVISOR_CLOSED' })
  })

  it('bounds cancel() and close() by closeTimeoutMs in all when the broker stops answering', async () => {
    const broker = new URL(url)
    await using proxy = await startProxy(broker.hostname, Number(broker.port || 5672))
    const hung = new URL(url)
    hung.port = String(proxy.port)
    const { topology, exchange } = privateTopology()
    const budget = 800
    const { supervisor } = supervise({ urls: hung.href, topology, closeTimeoutMs: budget })
    await supervisor.ready()
    const first = await supervisor.consume('q', (d) => d.ack())
    await supervisor.consume('q', (d) => d.ack())
    proxy.freeze()
    // sent into the void: never confirmed, so close() has confirms, a cancel and a close-ok to wait for
    const unconfirmed = supervisor.publish(exchange, 'k', Buffer.from('x'))
    unconfirmed.catch(() => undefined)
    const time = async (work: () => Promise<void>): Promise<number> => {
      const started = performance.now()
      await work()
      return performance.now() - started
    }
    const cancelMs = await time(() => first.cancel())
    const closeMs = await time(() => supervisor.close())
    // Each waited out its budget once: no answer comes, so neither can end sooner (less 2 ms for
    // timer granularity). Before, close() spent one budget per step (cancels, confirms, close-ok:
    // 3 budgets) and cancel() waited for cancel-ok forever: under 2 budgets tells one from several.
    expect([cancelMs >= budget - 2, cancelMs < 2 * budget]).toEqual([true, true])
    expect([closeMs >= budget - 2, closeMs < 2 * budget]).toEqual([true, true])
    expect(supervisor.state).toBe('closed')
    await expect(unconfirmed).rejects.toMatchObject({ code: 'PUBLISH_CHANNEL_CLOSED' })
  })

  it('drops the connection on destroy() while a graceful close() waits for a broker that stopped answering', async () => {
    const broker = new URL(url)
    await using proxy = await startProxy(broker.hostname, Number(broker.port || 5672))
    const hung = new URL(url)
    hung.port = String(proxy.port)
    const { topology, exchange } = privateTopology()
    // a close budget no test waits out: only destroy() can end this close
    const { supervisor, connectionName } = supervise({ urls: hung.href, topology, closeTimeoutMs: 600_000 })
    await supervisor.ready()
    await supervisor.consume('q', (d) => d.ack())
    await waitFor(async () => (await listConnections()).some((c) => c.name === connectionName), 10_000)
    proxy.freeze()
    const unconfirmed = supervisor.publish(exchange, 'k', Buffer.from('x'))
    unconfirmed.catch(() => undefined)
    const states: string[] = []
    supervisor.on('state', (state) => states.push(state))
    const closing = supervisor.close()
    const destroyed = supervisor.destroy()
    await destroyed
    await closing
    expect({ state: supervisor.state, states }).toEqual({ state: 'closed', states: ['closing', 'closed'] })
    await expect(unconfirmed).rejects.toMatchObject({ code: 'PUBLISH_CHANNEL_CLOSED' })
    // the socket is gone: the proxy dropped its side, and the broker forgets the connection
    await waitFor(
      async () => !(await listConnections()).some((c) => c.name === connectionName),
      10_000,
      'the broker to forget the connection',
    )
  })

  it('is disposable with await using', async () => {
    let state = ''
    {
      await using supervisor = createSupervisor({ urls: url })
      await supervisor.ready()
      supervisor.on('closed', () => {
        state = supervisor.state
      })
    }
    expect(state).toBe('closed')
  })
})
