import { EventEmitter } from 'node:events'
import {
  ConnectionError,
  type ConsumeOptions,
  type Consumer,
  Delivery,
  defineTopology,
  mergeTopologies,
  PublishError,
  type PublishOptions,
  type ReturnedMessage,
  type Settler,
  type SupervisorEvents,
  type SupervisorLike,
  type SupervisorOptions,
  type SupervisorState,
  type SupervisorStats,
  type Topology,
  TopologyError,
  toTopologyError,
} from '@am/bus-core'
import type { MemoryBroker } from './broker.js'
import type { BrokerConnection } from './connection.js'
import { toMessageProperties } from './properties.js'
import { nextTurn, realClearTimeout, realSetTimeout } from './timers.js'
import type { ConsumeMessage } from './types.js'

interface PendingPublish {
  exchange: string
  routingKey: string
  body: Buffer
  options: Omit<PublishOptions, 'confirm'>
  confirm: boolean
  resolve: () => void
  reject: (error: Error) => void
}

interface ConsumerEntry {
  queue: string
  onMessage: (delivery: Delivery) => void
  options: ConsumeOptions
  cancelled: boolean
  tag?: string
  generation?: number
}

interface Generation {
  id: number
  connection: BrokerConnection
  names: Map<string, string>
  /** Delivery tags not yet settled. */
  unsettled: Set<number>
  settler: Settler
  inflight: Map<number, PendingPublish>
  nextId: number
  lost: boolean
  closed: Promise<Error | undefined>
  resolveClosed: (error: Error | undefined) => void
}

const DEFAULT_PREFETCH = 3

/**
 * The supervisor of one connection to a `MemoryBroker`, with the behaviour of `@am/bus-core`'s
 * `Supervisor`: the same states, events, errors and recovery (reconnects after a drop, declares the
 * topology again, registers the consumers again, then emits `connected`). Made by
 * `broker.supervisorFactory()` or `broker.createSupervisor()`.
 */
export class MemorySupervisor
  extends EventEmitter<SupervisorEvents>
  // `SupervisorLike` picks `on`/`off`/`once` from `Supervisor`, whose polymorphic `this` becomes
  // `Supervisor` there: no other class can implement them as declared. Everything else is checked.
  implements Omit<SupervisorLike, 'on' | 'off' | 'once'>
{
  readonly #broker: MemoryBroker
  readonly #options: SupervisorOptions
  readonly #name: string
  #topology: Topology
  readonly #window: number
  readonly #maxMessages: number
  readonly #maxBytes: number
  readonly #consumers = new Set<ConsumerEntry>()
  readonly #queue: PendingPublish[] = []
  #queueBytes = 0
  #current: Generation | undefined
  #generationCount = 0
  #reconnections = 0
  #attempts = 0
  #state: SupervisorState = 'connecting'
  #stopping = false
  #failure: Error | undefined
  #wake: (() => void) | undefined
  #running: Promise<void> | undefined
  #closing: Promise<void> | undefined
  readonly #waiters = new Set<() => void>()

  /** @internal use `broker.createSupervisor` or `broker.supervisorFactory()` */
  constructor(broker: MemoryBroker, options: SupervisorOptions) {
    super()
    this.#broker = broker
    this.#options = options
    this.#name = options.connectionName ?? `memory-${Math.random().toString(36).slice(2, 10)}`
    this.#topology = options.topology ?? defineTopology({})
    this.#window = options.confirmWindow ?? 1000
    this.#maxMessages = options.buffer?.maxMessages ?? 10_000
    this.#maxBytes = options.buffer?.maxBytes ?? 64 * 1024 * 1024
  }

  /** @internal starts the connection loop */
  start(): this {
    this.#running ??= this.#run()
    return this
  }

  get state(): SupervisorState {
    return this.#state
  }

  /** The number of the current connection (1 for the first); deliveries carry it. */
  get generation(): number {
    return this.#current?.id ?? this.#generationCount
  }

  /** The connection name (what `broker.dropConnections({ name })` matches). */
  get name(): string {
    return this.#name
  }

  /** True while a connection is open and set up. */
  get isConnected(): boolean {
    return this.#current !== undefined && !this.#current.lost && this.#state !== 'connecting'
  }

  /** The broker this supervisor is connected to. */
  get broker(): MemoryBroker {
    return this.#broker
  }

  /** Resolves once connected (at once if connected now); rejects if the supervisor fails or closes first. */
  async ready(): Promise<void> {
    if (this.isConnected && (this.#state === 'connected' || this.#state === 'closing')) return
    if (this.#failure) throw this.#failure
    if (this.#state === 'closed') throw new ConnectionError('SUPERVISOR_CLOSED', 'the supervisor is closed')
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.off('connected', onConnected)
        this.off('failed', onFailed)
        this.off('closed', onClosed)
      }
      const onConnected = (): void => {
        done()
        resolve()
      }
      const onFailed = (error: Error): void => {
        done()
        reject(error)
      }
      const onClosed = (): void => {
        done()
        reject(new ConnectionError('SUPERVISOR_CLOSED', 'the supervisor was closed before it connected'))
      }
      this.on('connected', onConnected)
      this.on('failed', onFailed)
      this.on('closed', onClosed)
    })
  }

  /**
   * Adds exchanges, queues and bindings to the topology: declared now when connected, and at every
   * later connection. A refused declaration rejects with a `TopologyError` and, as on RabbitMQ
   * (the channel is closed), the connection is opened again, where the topology fails for good.
   */
  async extendTopology(extra: Topology): Promise<void> {
    this.#topology = mergeTopologies(this.#topology, extra)
    const gen = this.#current
    if (!gen || gen.lost || this.#state === 'connecting') return
    await nextTurn()
    if (gen.lost) return
    const names = this.#declare(gen.connection, extra)
    for (const [key, name] of names) gen.names.set(key, name)
  }

  /** The actual name of a topology queue on the current connection (server-named queues change). */
  queueName(key: string): string | undefined {
    return this.#current?.names.get(key)
  }

  stats(): SupervisorStats {
    return {
      state: this.#state,
      generation: this.generation,
      unconfirmed: this.#current?.inflight.size ?? 0,
      buffered: this.#queue.length,
      bufferedBytes: this.#queueBytes,
      unsettled: this.#current?.unsettled.size ?? 0,
      reconnections: this.#reconnections,
    }
  }

  /**
   * Publishes a message, with the semantics of `Supervisor.publish`: with `confirm` (the default)
   * it settles with the broker's confirm (`PUBLISH_NACKED`, `PUBLISH_RETURNED`,
   * `PUBLISH_CHANNEL_CLOSED`); while disconnected it waits in a bounded buffer.
   */
  publish(exchange: string, routingKey: string, body: Buffer, options: PublishOptions = {}): Promise<void> {
    if (this.#stopping && !this.isConnected) {
      return Promise.reject(new ConnectionError('SUPERVISOR_CLOSED', 'cannot publish: the supervisor is closed'))
    }
    if (this.#failure) return Promise.reject(this.#failure)
    if (this.#queue.length >= this.#maxMessages || this.#queueBytes + body.length > this.#maxBytes) {
      return Promise.reject(
        new PublishError(
          'PUBLISH_BUFFER_FULL',
          `cannot publish to ${exchange}/${routingKey}: ${this.#queue.length} messages (${this.#queueBytes} bytes) already wait to be sent${this.isConnected ? '' : ' while disconnected'}; retry later or raise the buffer limits`,
        ),
      )
    }
    const { confirm = true, ...publishOptions } = options
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ exchange, routingKey, body, options: publishOptions, confirm, resolve, reject })
      this.#queueBytes += body.length
      this.#pump()
    })
  }

  /**
   * Registers a consumer on a topology queue key (or a literal queue name); registered again after
   * every reconnection. Resolves once registered on the broker (or, while disconnected, for the next
   * connection).
   */
  async consume(
    queue: string,
    onMessage: (delivery: Delivery) => void,
    options: ConsumeOptions = {},
  ): Promise<Consumer> {
    if (this.#stopping || this.#failure) {
      throw this.#failure ?? new ConnectionError('SUPERVISOR_CLOSED', 'cannot consume: the supervisor is closed')
    }
    const entry: ConsumerEntry = { queue, onMessage, options, cancelled: false }
    this.#consumers.add(entry)
    const gen = this.#current
    if (gen && !gen.lost && this.#state !== 'connecting') {
      await nextTurn()
      // Lost meanwhile (the next connection registers it), or registered by a reconnection already.
      const live = !gen.lost && this.#current === gen && entry.generation !== gen.id && !entry.cancelled
      try {
        if (live) this.#startConsumer(gen, entry)
      } catch (error) {
        this.#consumers.delete(entry)
        // The broker closed the consuming channel: bus-core reopens the connection.
        gen.connection.drop(error as Error)
        throw error
      }
    }
    const currentName = (): string => this.#current?.names.get(entry.queue) ?? entry.queue
    return {
      get queue() {
        return currentName()
      },
      cancel: async () => {
        entry.cancelled = true
        this.#consumers.delete(entry)
        const live = this.#current
        if (entry.tag && live && live.id === entry.generation && !live.lost) {
          await nextTurn()
          live.connection.cancel(entry.tag)
        }
      },
    }
  }

  /** Message and consumer counts of a queue, or a `TOPOLOGY_NOT_FOUND` error (as `Supervisor.checkQueue`). */
  async checkQueue(name: string): Promise<{ queue: string; messageCount: number; consumerCount: number }> {
    await this.ready()
    const queue = this.#broker.queue(name)
    if (!queue) {
      throw new TopologyError(
        'TOPOLOGY_NOT_FOUND',
        `queue '${name}' not found: Operation failed: QueueDeclare; 404 (NOT-FOUND) with message "NOT_FOUND - no queue '${name}' in vhost '${this.#broker.vhost}'"`,
        { kind: 'queue', name },
      )
    }
    return { queue: name, messageCount: queue.messages.length, consumerCount: queue.consumers }
  }

  /**
   * Stops gracefully: consumers cancelled, waits (up to `closeTimeoutMs`) for every publish to be
   * confirmed, then closes the connection (unacked deliveries go back to their queues). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown(false)
    return this.#closing
  }

  /** Hard stop: drops the connection at once; pending publishes reject. */
  destroy(): Promise<void> {
    this.#closing ??= this.#shutdown(true)
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  // ---------------------------------------------------------------------------------------------

  #setState(state: SupervisorState): void {
    if (this.#state === state) return
    this.#state = state
    this.emit('state', state)
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      let gen: Generation
      try {
        gen = await this.#open()
      } catch (error) {
        if (this.#stopping) break
        if (error instanceof TopologyError) {
          this.#fail(error)
          return
        }
        await this.#pause(error as Error)
        continue
      }
      this.#attempts = 0
      const lostWith = await gen.closed
      if (this.#stopping) break
      this.#reconnections += 1
      await this.#pause(lostWith)
    }
  }

  async #pause(error: Error | undefined): Promise<void> {
    this.#attempts += 1
    const delayMs = this.#broker.reconnectDelayMs
    this.#setState('reconnecting')
    this.emit('reconnecting', { attempt: this.#attempts, delayMs, error })
    await new Promise<void>((resolve) => {
      const cancel = this.#broker.later(resolve, delayMs)
      this.#wake = () => {
        cancel()
        resolve()
      }
    })
    this.#wake = undefined
  }

  async #open(): Promise<Generation> {
    if (this.#state !== 'reconnecting') this.#setState('connecting')
    await nextTurn()
    let connection: BrokerConnection
    try {
      if (this.#stopping) throw new ConnectionError('SUPERVISOR_CLOSED', 'closed while connecting')
      connection = this.#broker.connect(this.#name)
    } catch (error) {
      if (error instanceof ConnectionError) throw error
      throw new ConnectionError(
        'CONNECTION_FAILED',
        `no broker at ${this.#broker.url}: ${(error as Error).message} (start RabbitMQ or fix the URL)`,
        { cause: error },
      )
    }
    let resolveClosed!: (error: Error | undefined) => void
    const closed = new Promise<Error | undefined>((resolve) => {
      resolveClosed = resolve
    })
    const id = this.#generationCount + 1
    let gen: Generation | undefined
    connection.onClosed = (error) => {
      if (gen) this.#lose(gen, error)
      resolveClosed(error)
    }
    try {
      const names = this.#declare(connection, this.#topology)
      const unsettled = new Set<number>()
      gen = {
        id,
        connection,
        names,
        unsettled,
        settler: {
          ack: (tag) => this.#settle(gen as Generation, tag, (c) => c.ack(tag)),
          nack: (tag, requeue) => this.#settle(gen as Generation, tag, (c) => c.nack(tag, requeue)),
        },
        inflight: new Map(),
        nextId: 0,
        lost: false,
        closed,
        resolveClosed,
      }
      this.#generationCount = id
      this.#current = gen
      for (const entry of [...this.#consumers]) {
        if (!entry.cancelled) this.#startConsumer(gen, entry)
      }
      if (this.#stopping) throw new ConnectionError('SUPERVISOR_CLOSED', 'closed while connecting')
    } catch (error) {
      if (gen) gen.lost = true
      connection.onClosed = undefined
      connection.drop(undefined)
      throw error
    }
    this.#setState('connected')
    this.emit('connected', { generation: id, url: this.#broker.url })
    this.#pump()
    return gen
  }

  /** Declares exchanges, queues, bindings (as `applyTopology`); returns queue names by key. */
  #declare(connection: BrokerConnection, topology: Topology): Map<string, string> {
    const broker = this.#broker
    const names = new Map<string, string>()
    const declare = <T>(what: { kind: 'exchange' | 'queue' | 'binding'; name: string }, run: () => T): T => {
      try {
        return run()
      } catch (error) {
        const topologyError = toTopologyError(error, what)
        if (topologyError) {
          // The broker closes the channel: the connection is reopened (bus-core recycles it).
          connection.drop(error as Error)
          throw topologyError
        }
        throw error
      }
    }
    for (const e of topology.exchanges) {
      declare({ kind: 'exchange', name: e.name }, () =>
        broker.assertExchange(connection, e.name, e.type, {
          durable: e.durable ?? true,
          autoDelete: e.autoDelete ?? false,
          internal: e.internal ?? false,
          ...(e.arguments ? { arguments: e.arguments } : {}),
        }),
      )
    }
    for (const q of topology.queues) {
      const named = q.name !== ''
      const actual = declare({ kind: 'queue', name: q.name || q.key }, () =>
        broker.assertQueue(connection, q.name, {
          durable: q.durable ?? named,
          exclusive: q.exclusive ?? !named,
          autoDelete: q.autoDelete ?? false,
          ...(q.arguments ? { arguments: q.arguments } : {}),
        }),
      )
      names.set(q.key, actual)
    }
    for (const b of topology.bindings) {
      const queue = names.get(b.queue) ?? b.queue
      declare({ kind: 'binding', name: `${b.exchange} → ${queue} (${b.routingKey})` }, () =>
        broker.bindQueue(connection, queue, b.exchange, b.routingKey),
      )
    }
    return names
  }

  #startConsumer(gen: Generation, entry: ConsumerEntry): void {
    const queue = gen.names.get(entry.queue) ?? entry.queue
    const { prefetch = DEFAULT_PREFETCH, noAck = false, exclusive = false } = entry.options
    const onMessage = (message: ConsumeMessage): void => {
      if (gen.lost) return
      if (!noAck) gen.unsettled.add(message.fields.deliveryTag)
      const delivery = new Delivery(message, queue, noAck ? undefined : gen.settler, gen.id)
      try {
        entry.onMessage(delivery)
      } catch {
        delivery.nack(!delivery.redelivered)
      }
    }
    let state: ReturnType<MemoryBroker['consume']>
    try {
      state = this.#broker.consume(gen.connection, queue, { prefetch, noAck, exclusive }, onMessage)
    } catch (error) {
      throw toTopologyError(error, { kind: 'queue', name: queue }) ?? error
    }
    gen.connection.consumers.set(state.tag, state)
    entry.tag = state.tag
    entry.generation = gen.id
  }

  #settle(gen: Generation, tag: number, send: (connection: BrokerConnection) => void): boolean {
    if (gen.lost || !gen.unsettled.delete(tag)) return false
    send(gen.connection)
    this.#broker.touch()
    return true
  }

  #lose(gen: Generation, error: Error | undefined): void {
    if (gen.lost) return
    gen.lost = true
    gen.unsettled.clear()
    for (const item of gen.inflight.values()) {
      item.reject(
        new PublishError(
          'PUBLISH_CHANNEL_CLOSED',
          `the connection was lost before the broker confirmed the publish to ${item.exchange}/${item.routingKey}; it may or may not have been delivered`,
          undefined,
          { cause: error },
        ),
      )
    }
    gen.inflight.clear()
    gen.resolveClosed(error)
    if (this.#current === gen) {
      if (!this.#stopping) this.#setState('reconnecting')
      this.emit('disconnected', { generation: gen.id, error })
    }
    this.#notify()
  }

  #pump(): void {
    const gen = this.#current
    if (!gen || gen.lost || !(this.#state === 'connected' || this.#state === 'closing')) return
    while (this.#queue.length > 0 && gen.inflight.size < this.#window) {
      const item = this.#queue.shift() as PendingPublish
      this.#queueBytes -= item.body.length
      this.#send(gen, item)
    }
    this.#notify()
  }

  #send(gen: Generation, item: PendingPublish): void {
    const { exchange, routingKey, body, options } = item
    const { mandatory = false, ...rest } = options
    let properties: ReturnType<typeof toMessageProperties>
    try {
      properties = toMessageProperties(rest)
    } catch (error) {
      item.reject(
        new PublishError(
          'PUBLISH_INVALID',
          `cannot publish to ${exchange}/${routingKey}: ${(error as Error).message}`,
          undefined,
          {
            cause: error,
          },
        ),
      )
      return
    }
    const connection = gen.connection
    if (!item.confirm) {
      connection.send(() => {
        this.#broker.publishFrom(connection, exchange, routingKey, body, properties, mandatory, false)
      })
      item.resolve()
      return
    }
    gen.nextId += 1
    const id = gen.nextId
    gen.inflight.set(id, item)
    connection.send(() => {
      const answer = this.#broker.publishFrom(connection, exchange, routingKey, body, properties, mandatory, true)
      if (answer.returned) {
        const returned: ReturnedMessage = {
          exchange,
          routingKey,
          replyCode: 312,
          replyText: 'NO_ROUTE',
          body,
          properties: answer.returned.properties,
        }
        this.emit('returned', returned)
        this.#confirm(gen, id, () =>
          item.reject(
            new PublishError(
              'PUBLISH_RETURNED',
              `message to ${exchange}/${routingKey} is unroutable (312 NO_ROUTE): no queue is bound for it`,
              returned,
            ),
          ),
        )
      } else if (answer.nacked) {
        this.#confirm(gen, id, () =>
          item.reject(
            new PublishError(
              'PUBLISH_NACKED',
              `the broker refused the message to ${exchange}/${routingKey} (nack: queue full with reject-publish, or an internal error)`,
            ),
          ),
        )
      } else this.#confirm(gen, id, () => item.resolve())
    })
  }

  /** Settles publish `id` when its confirm arrives (after `broker.slowConfirms`). */
  #confirm(gen: Generation, id: number, settle: () => void): void {
    const deliver = (): void => {
      if (gen.lost || !gen.inflight.delete(id)) return
      settle()
      if (this.#queue.length > 0) this.#pump()
      else this.#notify()
    }
    const delayMs = this.#broker.confirmDelayMs
    if (delayMs > 0) this.#broker.later(deliver, delayMs)
    else deliver()
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter()
  }

  async #until(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return true
    return new Promise<boolean>((resolve) => {
      const finish = (result: boolean): void => {
        realClearTimeout(timer)
        this.#waiters.delete(check)
        resolve(result)
      }
      const check = (): void => {
        if (done()) finish(true)
      }
      const timer = realSetTimeout(() => finish(false), ms)
      this.#waiters.add(check)
    })
  }

  #fail(error: Error): void {
    this.#failure = error
    this.#stopping = true
    this.#rejectQueued(error)
    this.#setState('failed')
    this.emit('failed', error)
  }

  #rejectQueued(error: Error): void {
    const items = this.#queue.splice(0)
    this.#queueBytes = 0
    for (const item of items) item.reject(error)
  }

  async #shutdown(hard: boolean): Promise<void> {
    const wasFailed = this.#state === 'failed'
    this.#stopping = true
    this.#wake?.()
    const timeoutMs = this.#options.closeTimeoutMs ?? 10_000
    const gen = this.#current
    if (!wasFailed) this.#setState('closing')
    if (gen && !gen.lost) {
      if (!hard) {
        for (const entry of this.#consumers) {
          if (entry.tag && entry.generation === gen.id) gen.connection.cancel(entry.tag)
        }
        await this.#until(() => gen.lost || (gen.inflight.size === 0 && this.#queue.length === 0), timeoutMs)
        await gen.connection.close()
      } else gen.connection.drop(undefined)
      this.#lose(gen, undefined)
    }
    if (this.#running) {
      await Promise.race([this.#running, new Promise((resolve) => realSetTimeout(resolve, timeoutMs).unref())])
    }
    this.#rejectQueued(
      new ConnectionError('SUPERVISOR_CLOSED', 'the supervisor closed before this message could be sent'),
    )
    this.#consumers.clear()
    if (!wasFailed) this.#setState('closed')
    this.emit('closed')
  }
}

/**
 * The supervisor as the `SupervisorLike` a `Service` expects (see the note on `MemorySupervisor`:
 * only the return type of `on`/`off`/`once` differs, `this` instead of `Supervisor`).
 * @internal
 */
export function asSupervisorLike(supervisor: MemorySupervisor): SupervisorLike {
  return supervisor as unknown as SupervisorLike
}
