// Over 500 lines on purpose: one state machine (connection loop, publish buffer and confirm window,
// consumers, shutdown) whose parts share the state of the current connection generation; a third of
// the file is its documented options, events and types. The transport below it is transport.ts.
import { EventEmitter } from 'node:events'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { redactUrl } from '@am/errors'
import type { Channel } from 'amqplib'
import { AckTracker } from './ack-tracker.js'
import { AmqplibConnection, amqplibTransport } from './amqplib-transport.js'
import { Backoff, type BackoffOptions } from './backoff.js'
import { defaultConnectionName } from './connection-url.js'
import { Delivery } from './delivery.js'
import {
  ChannelError,
  ConnectionError,
  PublishError,
  type ReturnedMessage,
  TopologyError,
  toTopologyError,
} from './errors.js'
import { type Logger, silentLogger } from './logger.js'
import { createQueueBrowser, type QueueBrowser } from './queue-browser.js'
import { applyTopology, defineTopology, mergeTopologies, type QueueNames, type Topology } from './topology.js'
import {
  type ConfirmOutcome,
  type PublishProperties,
  type QueueInfo,
  realTimers,
  type TimerHandle,
  type Timers,
  type Transport,
  type TransportChannel,
  type TransportConnection,
  type TransportMessage,
  type TransportReturn,
} from './transport.js'

/** Options of `createSupervisor`. */
export interface SupervisorOptions {
  /** Broker URLs (`amqp://` or `amqps://`), tried round-robin, one per connection attempt. */
  urls: string | readonly string[]
  /**
   * The connection name shown by the management UI.
   * @default `<process.title>@<hostname>:<pid>`
   */
  connectionName?: string
  /**
   * Heartbeat in seconds, requested whatever the URL or the broker says; 0 disables it.
   * @default 60
   */
  heartbeatSeconds?: number
  /**
   * Time allowed for the TCP and AMQP handshake, in ms.
   * @default 10000
   */
  connectTimeoutMs?: number
  /** TLS options for `amqps://` URLs (ca, cert, key, rejectUnauthorized, servername…). */
  tls?: TlsOptions
  /** Exchanges, queues and bindings declared at every connection. */
  topology?: Topology
  /** Reconnection delays. */
  reconnect?: BackoffOptions
  /**
   * When the broker blocks the connection (resource alarm) for longer than this, the connection is
   * dropped and opened again, in ms; `null` waits forever.
   * @default 3600000
   */
  blockedTimeoutMs?: number | null
  /**
   * Publishes awaiting their broker confirm at once; further publishes wait their turn.
   * @default 1000
   */
  confirmWindow?: number
  /**
   * Bounds of the publishes waiting to be sent (while disconnected, or while the confirm window
   * is full); past them, `publish` rejects with `PUBLISH_BUFFER_FULL`.
   * @default { maxMessages: 10000, maxBytes: 67108864 }
   */
  buffer?: { maxMessages?: number; maxBytes?: number }
  /**
   * The longest `close()` takes to stop gracefully, in ms: cancels, outstanding confirms and the
   * broker's close-ok share this one budget; past it the socket is dropped.
   * @default 10000
   */
  closeTimeoutMs?: number
  /**
   * Where the supervisor logs (first failure of a reconnection streak, topology errors…).
   * @default null (silent)
   */
  logger?: Logger | null
  /**
   * What opens connections: amqplib over TCP/TLS, or another implementation of the transport seam
   * (`@am/testing`'s memory broker).
   * @default amqplib
   */
  transport?: Transport
  /**
   * The clock of reconnection delays, close budgets and ack batching (a test clock in `@am/testing`).
   * @default Node's timers
   */
  timers?: Timers
}

/** Where the supervisor is in its life. */
export type SupervisorState = 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed' | 'failed'

/** Events of a `Supervisor`. */
export interface SupervisorEvents {
  /** A connection is open, the topology declared and every consumer registered (Consume-Ok). */
  connected: [info: { generation: number; url: string }]
  /** The connection was lost; deliveries of that generation can no longer be settled. */
  disconnected: [info: { generation: number; error: Error | undefined }]
  /** A connection attempt failed or a connection was lost; the next attempt comes after `delayMs`. */
  reconnecting: [info: { attempt: number; delayMs: number; error: Error | undefined }]
  /** The broker stopped reading from the connection (resource alarm). */
  blocked: [reason: string]
  unblocked: []
  /** A `mandatory` publish came back unroutable; its `publish` promise rejects with `PUBLISH_RETURNED`. */
  returned: [message: ReturnedMessage]
  /**
   * After a nack, publishes moved to a new confirm channel of the same connection (the old one
   * closes once its publishes are confirmed): see "Nacks and quorum queue failover" in the README.
   */
  channelReplaced: [info: { generation: number }]
  /**
   * A fatal error: the broker refuses the topology, or, before the first connection, every broker
   * that answered refused the login or the virtual host (`ConnectionError.failure`). The supervisor
   * stopped; `ready()` rejects with it.
   */
  failed: [error: Error]
  state: [state: SupervisorState]
  closed: []
}

/** Options of one publish. */
export interface PublishOptions extends Omit<PublishProperties, 'mandatory'> {
  /**
   * Ask the broker to return the message when no queue is bound for it; the promise then rejects
   * with a `PublishError` of code `PUBLISH_RETURNED`.
   * @default false
   */
  mandatory?: boolean
  /**
   * Wait for the broker's confirm (main channel). Without it the message goes on the log channel
   * (no confirms, as eventail's logs) and the promise resolves once written to the socket.
   * @default true
   */
  confirm?: boolean
}

/** Options of one consumer. */
export interface ConsumeOptions {
  /**
   * Unacknowledged deliveries this consumer may hold (`basic.qos`, per consumer).
   * @default 3 (eventail's PREFETCH_COUNT)
   */
  prefetch?: number
  /**
   * Let the broker consider messages acknowledged on delivery (loses them on a crash: logs only).
   * @default false
   */
  noAck?: boolean
  /** @default false */
  exclusive?: boolean
  /** Consumer arguments (e.g. `x-priority`). */
  arguments?: Record<string, unknown>
}

/** A registered consumer; it follows the supervisor across reconnections. */
export interface Consumer {
  /** The queue's actual name on the current connection (server-named queues change). */
  readonly queue: string
  /**
   * Stops the deliveries to this consumer (`basic.cancel`) and forgets it; resolves on the broker's
   * cancel-ok, or after `closeTimeoutMs` without it. Deliveries already on their way still arrive.
   */
  cancel(): Promise<void>
}

/** Counters for health checks and metrics. */
export interface SupervisorStats {
  state: SupervisorState
  generation: number
  /** Publishes sent and awaiting their confirm. */
  unconfirmed: number
  /** Publishes waiting to be sent, and their bytes. */
  buffered: number
  bufferedBytes: number
  /** Deliveries of the current connection not yet acked or nacked. */
  unsettled: number
  reconnections: number
}

interface PendingPublish {
  exchange: string
  routingKey: string
  body: Buffer
  options: PublishProperties
  confirm: boolean
  resolve: () => void
  reject: (error: Error) => void
  returned?: ReturnedMessage
  /** While sent and `mandatory`: its entry of `Generation.returnable`, and that entry's key. */
  returnSet?: Map<number, PendingPublish>
  returnKey?: string
}

interface ConsumerEntry {
  queue: string
  onMessage: (delivery: Delivery) => void
  options: ConsumeOptions
  cancelled: boolean
  /** The consumer tag on the generation it is registered with. */
  tag?: string
  generation?: number
}

interface BrokerUrl {
  /** As given, credentials included. */
  raw: string
  /** For logs and events. */
  safe: string
}

interface Generation {
  id: number
  url: BrokerUrl
  connection: TransportConnection
  main: TransportChannel
  log: TransportChannel
  consume: TransportChannel
  names: QueueNames
  acks: AckTracker
  inflight: Map<number, PendingPublish>
  /**
   * The unconfirmed `mandatory` publishes not yet returned, by exchange and routing key, oldest
   * first: where a `basic.return` (which carries no delivery tag) finds its publish.
   */
  returnable: Map<string, Map<number, PendingPublish>>
  nextId: number
  writable: boolean
  lost: boolean
  /**
   * Confirm channels replaced after a nack (see `rotate`), each with the last publish id sent on
   * it: closed once every publish up to that id is confirmed.
   */
  retiring: Array<{ channel: TransportChannel; lastId: number }>
  /** A replacement confirm channel is being opened. */
  rotating: boolean
  /** When the confirm channel was last replaced (timers' clock), or opened. */
  rotatedAt: number
  openedAt: number
  closed: Promise<Error | undefined>
  resolveClosed: (error: Error | undefined) => void
  blockedTimer?: TimerHandle
}

const DEFAULT_PREFETCH = 3
/** The shortest time between two replacements of the confirm channel after nacks (see `rotate`). */
const ROTATE_INTERVAL_MS = 200

/**
 * What a service needs of a supervisor (`@am/testing`'s memory broker makes real `Supervisor`s over
 * its own transport).
 */
export interface SupervisorLike
  extends Pick<EventEmitter<SupervisorEvents>, 'on' | 'off' | 'once' | 'emit'>,
    Pick<
      Supervisor,
      | 'ready'
      | 'publish'
      | 'consume'
      | 'extendTopology'
      | 'queueName'
      | 'stats'
      | 'close'
      | 'destroy'
      | typeof Symbol.asyncDispose
    > {
  readonly state: SupervisorState
  readonly generation: number
  readonly isConnected: boolean
  readonly name: string
}

/**
 * Owns the connection to the broker: connects (round-robin over the URLs), declares the topology,
 * registers the consumers, publishes with confirms, and does it all again after every connection
 * loss, with capped exponential backoff. Create it with `createSupervisor`.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> implements SupervisorLike {
  private readonly urls: BrokerUrl[]
  private readonly transport: Transport
  private readonly timers: Timers
  private readonly connectionName: string
  private readonly options: SupervisorOptions
  private topology: Topology
  private readonly backoff: Backoff
  private readonly logger: Logger
  private readonly window: number
  private readonly maxMessages: number
  private readonly maxBytes: number
  private readonly consumers = new Set<ConsumerEntry>()
  private readonly queue: PendingPublish[] = []
  private queueBytes = 0
  private urlIndex = 0
  private current: Generation | undefined
  private generationCount = 0
  private reconnections = 0
  private currentState: SupervisorState = 'connecting'
  private stopping = false
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private running: Promise<void> | undefined
  private closing: Promise<void> | undefined
  private waiters = new Set<() => void>()
  /** Resolves when `destroy()` cuts a graceful close short. */
  private readonly aborted: Promise<undefined>
  private abortClose!: () => void
  private streakLogged = false
  /** The last failed attempt at each URL, before the first connection (`undefined`: not a connect failure). */
  private failures: Array<ConnectionError | undefined> = []

  /** @internal use `createSupervisor` */
  constructor(options: SupervisorOptions) {
    super()
    const urls = typeof options.urls === 'string' ? [options.urls] : [...options.urls]
    if (urls.length === 0) throw new ConnectionError('OPTIONS_INVALID', 'at least one broker URL is required')
    this.transport = options.transport ?? amqplibTransport(options.tls)
    this.timers = options.timers ?? realTimers
    this.urls = urls.map((url) => ({ raw: url, safe: this.transport.describeUrl(url) }))
    this.options = options
    this.connectionName = options.connectionName ?? defaultConnectionName()
    this.topology = options.topology ?? defineTopology({})
    this.backoff = new Backoff(options.reconnect)
    this.logger = options.logger ?? silentLogger
    this.window = options.confirmWindow ?? 1000
    this.maxMessages = options.buffer?.maxMessages ?? 10_000
    this.maxBytes = options.buffer?.maxBytes ?? 64 * 1024 * 1024
    this.aborted = new Promise<undefined>((resolve) => {
      this.abortClose = () => resolve(undefined)
    })
  }

  /** @internal starts the connection loop */
  start(): this {
    this.running ??= this.run()
    return this
  }

  get state(): SupervisorState {
    return this.currentState
  }

  /** The number of the current connection (1 for the first); deliveries carry it. */
  get generation(): number {
    return this.current?.id ?? this.generationCount
  }

  /** The connection name given to the broker. */
  get name(): string {
    return this.connectionName
  }

  /** True while a connection is open and set up. */
  get isConnected(): boolean {
    return this.current !== undefined && !this.current.lost && this.currentState !== 'connecting'
  }

  /** Resolves once connected (at once if connected now); rejects if the supervisor fails or closes first. */
  async ready(): Promise<void> {
    if (this.isConnected && (this.currentState === 'connected' || this.currentState === 'closing')) return
    if (this.failure) throw this.failure
    if (this.currentState === 'closed') throw new ConnectionError('SUPERVISOR_CLOSED', 'the supervisor is closed')
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
   * later connection. Resolves once declared (or at once while disconnected).
   */
  async extendTopology(extra: Topology): Promise<void> {
    const merged = mergeTopologies(this.topology, extra)
    const gen = this.current
    if (gen && !gen.lost && this.currentState !== 'connecting') {
      // Declared first: a refused extension must not poison every later reconnection.
      const names = await applyTopology(extra, gen.main, gen.log)
      for (const [key, name] of names) (gen.names as Map<string, string>).set(key, name)
    }
    this.topology = merged
  }

  /** The actual name of a topology queue on the current connection (server-named queues change). */
  queueName(key: string): string | undefined {
    return this.current?.names.get(key)
  }

  stats(): SupervisorStats {
    return {
      state: this.currentState,
      generation: this.generation,
      unconfirmed: this.current?.inflight.size ?? 0,
      buffered: this.queue.length,
      bufferedBytes: this.queueBytes,
      unsettled: this.current?.acks.size ?? 0,
      reconnections: this.reconnections,
    }
  }

  /**
   * Publishes a message. With `confirm` (the default) the promise settles with the broker's
   * confirm: it resolves on ack and rejects with a `PublishError` on nack (`PUBLISH_NACKED`), on
   * an unroutable `mandatory` message (`PUBLISH_RETURNED`), or when the channel dies first
   * (`PUBLISH_CHANNEL_CLOSED`: it may or may not have arrived). While disconnected, messages wait
   * in a bounded buffer (`PUBLISH_BUFFER_FULL` past it).
   */
  publish(exchange: string, routingKey: string, body: Buffer, options: PublishOptions = {}): Promise<void> {
    if (this.stopping && !this.isConnected) {
      return Promise.reject(new ConnectionError('SUPERVISOR_CLOSED', 'cannot publish: the supervisor is closed'))
    }
    if (this.failure) return Promise.reject(this.failure)
    if (this.queue.length >= this.maxMessages || this.queueBytes + body.length > this.maxBytes) {
      return Promise.reject(
        new PublishError(
          'PUBLISH_BUFFER_FULL',
          `cannot publish to ${exchange}/${routingKey}: ${this.queue.length} messages (${this.queueBytes} bytes) already wait to be sent${this.isConnected ? '' : ' while disconnected'}; retry later or raise the buffer limits`,
        ),
      )
    }
    // Copied only to drop `confirm`, which is not a message property (most callers do not set it).
    let publishOptions: PublishProperties = options
    let confirm = true
    if (options.confirm !== undefined) {
      const { confirm: given, ...rest } = options
      confirm = given
      publishOptions = rest
    }
    return new Promise<void>((resolve, reject) => {
      const item: PendingPublish = { exchange, routingKey, body, options: publishOptions, confirm, resolve, reject }
      const queue = this.queue
      queue.push(item)
      this.queueBytes += body.length
      this.pump()
      // Sent at once (the usual case), its options were read already; one that waits keeps a copy,
      // so that a caller reusing its options object cannot change a message already published.
      if (publishOptions === options && queue.length > 0 && (queue[queue.length - 1] === item || queue[0] === item)) {
        item.options = { ...options }
      }
    })
  }

  /**
   * Registers a consumer on a topology queue key (or a literal queue name). It is registered again
   * after every reconnection. Resolves once the broker confirmed it (Consume-Ok), or, while
   * disconnected, once registered for the next connection.
   */
  async consume(
    queue: string,
    onMessage: (delivery: Delivery) => void,
    options: ConsumeOptions = {},
  ): Promise<Consumer> {
    if (this.stopping || this.failure) {
      throw this.failure ?? new ConnectionError('SUPERVISOR_CLOSED', 'cannot consume: the supervisor is closed')
    }
    const entry: ConsumerEntry = { queue, onMessage, options, cancelled: false }
    this.consumers.add(entry)
    const gen = this.current
    if (gen && !gen.lost && this.currentState !== 'connecting') {
      try {
        await this.startConsumer(gen, entry)
      } catch (error) {
        this.consumers.delete(entry)
        throw error
      }
    }
    const currentName = (): string => this.current?.names.get(entry.queue) ?? entry.queue
    const consumer: Consumer = {
      get queue() {
        return currentName()
      },
      cancel: async () => {
        entry.cancelled = true
        this.consumers.delete(entry)
        const live = this.current
        if (entry.tag && live && live.id === entry.generation && !live.lost) {
          // A broker that stopped answering never sends cancel-ok: bound the wait.
          await raceDelay(
            live.consume.cancel(entry.tag).catch(() => undefined),
            this.options.closeTimeoutMs ?? 10_000,
            this.timers,
          )
        }
      },
    }
    return consumer
  }

  /**
   * Runs `work` with a fresh raw amqplib channel on the current connection and closes it after;
   * for one-off operations in tests and set-up scripts (deleting a queue…). Tools use `browse` and
   * `checkQueue`, which keep amqplib out of their code. It is not recovered: a connection loss rejects.
   */
  async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    await this.ready()
    const gen = this.current
    if (!gen) throw new ConnectionError('CONNECTION_LOST', 'not connected')
    if (!(gen.connection instanceof AmqplibConnection)) {
      throw new ConnectionError('OPTIONS_INVALID', 'withChannel needs the amqplib transport (a real broker)')
    }
    const channel = await gen.connection.rawChannel()
    channel.on('error', () => undefined)
    try {
      return await work(channel)
    } finally {
      await channel.close().catch(() => undefined)
    }
  }

  /** Runs `work` with a channel of its own on the current connection, closed after. */
  private async withTransportChannel<T>(work: (channel: TransportChannel) => Promise<T>): Promise<T> {
    await this.ready()
    const gen = this.current
    if (!gen) throw new ConnectionError('CONNECTION_LOST', 'not connected')
    const channel = await gen.connection.openChannel({ confirm: false })
    channel.on('error', () => undefined)
    try {
      return await work(channel)
    } finally {
      await channel.close().catch(() => undefined)
    }
  }

  /**
   * Runs `work` with a browser of `queue` (`basic.get` one message at a time, ack or nack each) on a
   * channel of its own, closed after: the messages not acknowledged by then go back to their place.
   * For tools that inspect or move messages; not recovered (a connection loss rejects).
   * @example
   * await bus.browse('orders.dlq', async (browser) => {
   *   for (let message = await browser.get(); message; message = await browser.get()) browser.ack(message)
   * })
   */
  browse<T>(queue: string, work: (browser: QueueBrowser) => Promise<T>): Promise<T> {
    return this.withTransportChannel((channel) => work(createQueueBrowser(channel, queue)))
  }

  /** Passive declaration: the queue's message and consumer counts, or a `TOPOLOGY_NOT_FOUND` error. */
  async checkQueue(name: string): Promise<QueueInfo> {
    return this.withTransportChannel(async (channel) => {
      try {
        return await channel.checkQueue(name)
      } catch (error) {
        throw toTopologyError(error, { kind: 'queue', name }) ?? error
      }
    })
  }

  /**
   * Stops gracefully: no new connection attempts, consumers cancelled, waits (up to
   * `closeTimeoutMs`) until every sent publish is confirmed and the buffer is flushed, then closes
   * the channels and the connection. Works in every state (connecting, waiting to reconnect,
   * failed) and is idempotent. Publishes still buffered when it gives up reject with
   * `SUPERVISOR_CLOSED`.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown(false)
    return this.closing
  }

  /**
   * Hard stop: drops the connection at once; every pending publish rejects. During a graceful
   * `close()` (one waiting for a broker that stopped answering, say) it cuts the wait short, and
   * both resolve once the socket is gone.
   */
  destroy(): Promise<void> {
    if (!this.closing) {
      this.closing = this.shutdown(true)
      return this.closing
    }
    this.abortClose()
    const gen = this.current
    if (gen && !gen.lost) gen.connection.destroy()
    return this.closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  // ---------------------------------------------------------------------------------------------

  private setState(state: SupervisorState): void {
    if (this.currentState === state) return
    this.currentState = state
    this.emit('state', state)
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const url = this.urls[this.urlIndex % this.urls.length] as BrokerUrl
      this.urlIndex += 1
      let gen: Generation
      try {
        gen = await this.open(url)
      } catch (error) {
        if (this.stopping) break
        if (error instanceof TopologyError) {
          this.fail(error)
          return
        }
        const refused = this.refusedEverywhere(error)
        if (refused) {
          this.fail(refused)
          return
        }
        await this.pause(error as Error)
        continue
      }
      this.streakLogged = false
      this.failures = []
      const lostWith = await gen.closed
      if (this.stopping) break
      if (this.timers.now() - gen.openedAt >= this.backoff.resetAfterMs) this.backoff.reset()
      this.reconnections += 1
      await this.pause(lostWith)
    }
  }

  /**
   * The refusal to fail with when, over the last attempt at each URL, every broker that answered
   * refused the login or the virtual host (and at least one answered): retrying cannot help. Only
   * before the first connection: a broker that accepted us and refuses now is most likely
   * restarting (a virtual host is refused while it recovers), so that is retried.
   */
  private refusedEverywhere(error: unknown): ConnectionError | undefined {
    if (this.generationCount > 0) return undefined
    const failure = error instanceof ConnectionError && error.code === 'CONNECTION_FAILED' ? error : undefined
    this.failures.push(failure)
    if (this.failures.length > this.urls.length) this.failures.shift()
    if (this.failures.length < this.urls.length) return undefined
    const answered = this.failures.filter((f) => f?.failure !== 'unreachable')
    const refusals = answered.filter((f): f is ConnectionError => f?.failure === 'login' || f?.failure === 'vhost')
    return answered.length > 0 && refusals.length === answered.length ? refusals[refusals.length - 1] : undefined
  }

  private async pause(error: Error | undefined): Promise<void> {
    const delayMs = this.backoff.next()
    if (!this.streakLogged) {
      this.streakLogged = true
      this.logger.warn(
        `broker connection ${error ? `failed: ${redactUrl(error.message)}` : 'lost'}; reconnecting (further failures of this streak are not logged)`,
      )
    }
    this.setState('reconnecting')
    this.emit('reconnecting', { attempt: this.backoff.attempts, delayMs, error })
    await new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(resolve, delayMs)
      this.wake = () => {
        timer.cancel()
        resolve()
      }
    })
    this.wake = undefined
  }

  private async open(url: BrokerUrl): Promise<Generation> {
    if (this.currentState !== 'reconnecting') this.setState('connecting')
    const connection = await this.transport.connect({
      url: url.raw,
      connectionName: this.connectionName,
      heartbeatSeconds: this.options.heartbeatSeconds ?? 60,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
    })
    let resolveClosed!: (error: Error | undefined) => void
    const closed = new Promise<Error | undefined>((resolve) => {
      resolveClosed = resolve
    })
    connection.on('error', (error: Error) => this.logger.debug(`connection error: ${redactUrl(error.message)}`))
    const id = this.generationCount + 1
    let gen: Generation | undefined
    connection.on('close', (error?: Error) => {
      if (gen) this.lose(gen, error)
      resolveClosed(error)
    })
    try {
      if (this.stopping) throw new ConnectionError('SUPERVISOR_CLOSED', 'closed while connecting')
      const main = await connection.openChannel({ confirm: true })
      const log = await connection.openChannel({ confirm: false })
      const consume = await connection.openChannel({ confirm: false })
      const names = await applyTopology(this.topology, main, log)
      gen = {
        id,
        url,
        connection,
        main,
        log,
        consume,
        names,
        acks: new AckTracker(consume, id, this.logger, this.timers),
        inflight: new Map(),
        returnable: new Map(),
        nextId: 0,
        writable: true,
        lost: false,
        retiring: [],
        rotating: false,
        rotatedAt: Number.NEGATIVE_INFINITY,
        openedAt: this.timers.now(),
        closed,
        resolveClosed,
      }
      this.generationCount = id
      this.wireChannels(gen)
      this.wireConnection(gen)
      this.current = gen
      for (const entry of [...this.consumers]) {
        if (!entry.cancelled) await this.startConsumer(gen, entry)
      }
      if (this.stopping) throw new ConnectionError('SUPERVISOR_CLOSED', 'closed while connecting')
    } catch (error) {
      if (gen) gen.lost = true
      await connection.close().catch(() => undefined)
      throw error
    }
    this.setState('connected')
    this.emit('connected', { generation: id, url: url.safe })
    this.logger.info(`connected to ${url.safe} as ${this.connectionName} (connection #${id})`)
    this.pump()
    return gen
  }

  private wireChannels(gen: Generation): void {
    for (const [which, channel] of [
      ['log', gen.log],
      ['consume', gen.consume],
    ] as const) {
      this.wireClose(gen, which, channel)
    }
    this.wireMain(gen, gen.main)
    gen.log.on('drain', () => this.pump())
  }

  /**
   * A channel closed by the broker (or lost) reopens the connection, unless it was no longer in use
   * (`inUse`: a replaced confirm channel this supervisor closed).
   */
  private wireClose(gen: Generation, which: string, channel: TransportChannel, inUse = (): boolean => true): void {
    channel.on('error', (error: Error) => this.logger.debug(`${which} channel error: ${error.message}`))
    channel.on('close', (error?: Error) => {
      if (gen.lost || this.stopping || !inUse()) return
      this.logger.warn(`${which} channel closed${error ? `: ${error.message}` : ''}; reopening the connection`)
      gen.connection.close().catch(() => undefined)
    })
  }

  /** The confirm channel of the publishes: the first of a connection, or one that replaced it. */
  private wireMain(gen: Generation, channel: TransportChannel): void {
    this.wireClose(gen, 'main', channel, () => channel === gen.main || gen.retiring.some((r) => r.channel === channel))
    channel.on('drain', () => {
      if (channel !== gen.main) return
      gen.writable = true
      this.pump()
    })
    channel.on('return', (message: TransportReturn) => this.onReturn(gen, message))
  }

  /**
   * Publishes from now on go to a new confirm channel; the old one is closed once its publishes
   * are confirmed. Done when the broker nacks a publish of the current channel (at most every
   * ROTATE_INTERVAL_MS): RabbitMQ (seen with 3.10) nacks every publish of a channel to a quorum
   * queue for as long as the channel lives when that channel first published to the queue while
   * its leader was being elected, e.g. right after reconnecting to another node of the cluster
   * when the leader's node died; channels opened later are served. A queue that nacks for its own
   * reasons (full, with reject-publish) costs one channel open per interval.
   */
  private rotate(gen: Generation): void {
    const now = this.timers.now()
    if (gen.rotating || gen.lost || this.stopping || now - gen.rotatedAt < ROTATE_INTERVAL_MS) return
    gen.rotating = true
    gen.rotatedAt = now
    gen.connection.openChannel({ confirm: true }).then(
      (fresh) => {
        gen.rotating = false
        if (gen.lost || this.stopping) {
          fresh.close().catch(() => undefined)
          return
        }
        this.wireMain(gen, fresh)
        const old = gen.main
        gen.retiring.push({ channel: old, lastId: gen.nextId })
        gen.main = fresh
        gen.writable = true
        this.logger.warn('the broker nacked a publish; publishing on a new channel from now on')
        this.emit('channelReplaced', { generation: gen.id })
        this.closeRetiring(gen)
        this.pump()
      },
      (error: unknown) => {
        gen.rotating = false
        this.logger.debug(`could not open a new confirm channel: ${(error as Error).message}`)
      },
    )
  }

  /** Closes the replaced confirm channels whose publishes are all confirmed. */
  private closeRetiring(gen: Generation): void {
    const first = gen.inflight.keys().next()
    const oldestPending = first.done ? Number.POSITIVE_INFINITY : first.value
    while (gen.retiring.length > 0 && (gen.retiring[0] as { lastId: number }).lastId < oldestPending) {
      const { channel } = gen.retiring.shift() as { channel: TransportChannel }
      channel.close().catch(() => undefined)
    }
  }

  private wireConnection(gen: Generation): void {
    const limit = this.options.blockedTimeoutMs === undefined ? 3_600_000 : this.options.blockedTimeoutMs
    gen.connection.on('blocked', (reason: string) => {
      this.logger.warn(`the broker blocked the connection: ${reason}`)
      this.emit('blocked', reason)
      if (limit !== null && !gen.blockedTimer) {
        gen.blockedTimer = this.timers.setTimeout(
          () => {
            this.logger.warn(`the connection stayed blocked for ${limit} ms; reopening it`)
            gen.connection.close().catch(() => undefined)
          },
          limit,
          { keepAlive: false },
        )
      }
    })
    gen.connection.on('unblocked', () => {
      gen.blockedTimer?.cancel()
      gen.blockedTimer = undefined
      this.emit('unblocked')
    })
  }

  private async startConsumer(gen: Generation, entry: ConsumerEntry): Promise<void> {
    const queue = gen.names.get(entry.queue) ?? entry.queue
    const { prefetch = DEFAULT_PREFETCH, noAck = false, exclusive = false } = entry.options
    const onMessage = (message: TransportMessage | null): void => {
      if (message === null) {
        // The broker cancelled the consumer (queue deleted…): like eventail, reconnect and redeclare.
        if (!gen.lost && !entry.cancelled) {
          this.logger.warn(`the broker cancelled the consumer of ${queue}; reopening the connection`)
          gen.connection.close().catch(() => undefined)
        }
        return
      }
      if (!noAck) gen.acks.track(message.fields.deliveryTag)
      const delivery = new Delivery(message, queue, noAck ? undefined : gen.acks, gen.id)
      try {
        entry.onMessage(delivery)
      } catch (error) {
        this.logger.error(`consumer of ${queue} threw: ${(error as Error).message}; rejecting the message`)
        delivery.nack(!delivery.redelivered)
      }
    }
    try {
      await gen.consume.prefetch(prefetch)
      const reply = await gen.consume.consume(queue, onMessage, {
        noAck,
        exclusive,
        ...(entry.options.arguments ? { arguments: entry.options.arguments } : {}),
      })
      entry.tag = reply.consumerTag
      entry.generation = gen.id
    } catch (error) {
      throw toTopologyError(error, { kind: 'queue', name: queue }) ?? error
    }
  }

  private lose(gen: Generation, error: Error | undefined): void {
    if (gen.lost) return
    gen.lost = true
    gen.blockedTimer?.cancel()
    gen.acks.close()
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
    gen.returnable.clear()
    gen.resolveClosed(error)
    if (this.current === gen) {
      if (!this.stopping) this.setState('reconnecting')
      this.emit('disconnected', { generation: gen.id, error })
      if (!this.stopping && error) this.logger.debug(`connection #${gen.id} lost: ${redactUrl(error.message)}`)
    }
    this.notify()
  }

  private onReturn(gen: Generation, message: TransportReturn): void {
    const { exchange, routingKey, replyCode, replyText } = message.fields
    const returned: ReturnedMessage = {
      exchange,
      routingKey,
      replyCode,
      replyText,
      body: message.content,
      properties: message.properties,
    }
    // A return carries no delivery tag; it precedes the ack of its publish, so it belongs to the
    // oldest unconfirmed mandatory publish with the same exchange, routing key and body.
    const candidates = gen.returnable.get(returnKey(exchange, routingKey))
    if (candidates) {
      for (const [id, item] of candidates) {
        if (item.body.equals(message.content)) {
          item.returned = returned
          candidates.delete(id)
          if (candidates.size === 0) gen.returnable.delete(returnKey(exchange, routingKey))
          break
        }
      }
    }
    this.emit('returned', returned)
  }

  private pump(): void {
    const gen = this.current
    if (!gen || gen.lost || !(this.currentState === 'connected' || this.currentState === 'closing')) return
    while (this.queue.length > 0 && gen.writable && gen.inflight.size < this.window) {
      const item = this.queue.shift() as PendingPublish
      this.queueBytes -= item.body.length
      if (!this.send(gen, item)) return
    }
    this.notify()
  }

  /** Sends one publish; false when the generation cannot take more now. */
  private send(gen: Generation, item: PendingPublish): boolean {
    const { exchange, routingKey, body, options } = item
    let id = 0
    try {
      if (!item.confirm) {
        gen.log.publish(exchange, routingKey, body, options)
        item.resolve()
        return true
      }
      gen.nextId += 1
      id = gen.nextId
      gen.inflight.set(id, item)
      if (options.mandatory) {
        const key = returnKey(exchange, routingKey)
        let candidates = gen.returnable.get(key)
        if (candidates === undefined) {
          candidates = new Map<number, PendingPublish>()
          gen.returnable.set(key, candidates)
        }
        candidates.set(id, item)
        // kept on the item, so that its confirm does not build and hash the key again
        item.returnSet = candidates
        item.returnKey = key
      }
      const confirmed = id
      const channel = gen.main
      const ok = channel.publish(exchange, routingKey, body, options, (outcome) =>
        this.settle(gen, confirmed, outcome, channel),
      )
      if (!ok) gen.writable = false
      return true
    } catch (error) {
      if (id !== 0) this.forget(gen, id, item)
      if (gen.lost || (error instanceof ChannelError && error.code === 'CHANNEL_CLOSED')) {
        // Not sent: keep it for the next connection.
        this.queue.unshift(item)
        this.queueBytes += body.length
        return false
      }
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
      return true
    }
  }

  /** Removes a sent publish from the confirm window. */
  private forget(gen: Generation, id: number, item: PendingPublish): void {
    gen.inflight.delete(id)
    const candidates = item.returnSet
    if (candidates === undefined) return
    item.returnSet = undefined
    const key = item.returnKey as string
    if (candidates.delete(id) && candidates.size === 0 && gen.returnable.get(key) === candidates) {
      gen.returnable.delete(key)
    }
  }

  private settle(gen: Generation, id: number, outcome: ConfirmOutcome, channel: TransportChannel): void {
    const item = gen.inflight.get(id)
    if (!item) return
    this.forget(gen, id, item)
    if (gen.retiring.length > 0) this.closeRetiring(gen)
    if (outcome === 'ack') {
      if (item.returned) {
        const { replyCode, replyText } = item.returned
        item.reject(
          new PublishError(
            'PUBLISH_RETURNED',
            `message to ${item.exchange}/${item.routingKey} is unroutable (${replyCode} ${replyText}): no queue is bound for it`,
            item.returned,
          ),
        )
      } else item.resolve()
    } else if (outcome === 'nack') {
      if (channel === gen.main) this.rotate(gen)
      item.reject(
        new PublishError(
          'PUBLISH_NACKED',
          `the broker refused the message to ${item.exchange}/${item.routingKey} (nack: queue full with reject-publish, or an internal error)`,
        ),
      )
    } else {
      item.reject(
        new PublishError(
          'PUBLISH_CHANNEL_CLOSED',
          `the channel closed before the broker confirmed the publish to ${item.exchange}/${item.routingKey}; it may or may not have been delivered`,
          undefined,
          { cause: outcome },
        ),
      )
    }
    if (this.queue.length > 0) this.pump()
    else this.notify()
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter()
  }

  /** Resolves when `done()` holds (checked whenever publishing state changes) or after `ms`. */
  private async until(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return true
    return new Promise<boolean>((resolve) => {
      const finish = (result: boolean): void => {
        timer.cancel()
        this.waiters.delete(check)
        resolve(result)
      }
      const check = (): void => {
        if (done()) finish(true)
      }
      const timer = this.timers.setTimeout(() => finish(false), ms)
      this.waiters.add(check)
    })
  }

  private fail(error: Error): void {
    this.failure = error
    this.stopping = true
    this.logger.error(redactUrl(error.message))
    this.rejectQueued(error)
    this.setState('failed')
    this.emit('failed', error)
  }

  private rejectQueued(error: Error): void {
    const items = this.queue.splice(0)
    this.queueBytes = 0
    for (const item of items) item.reject(error)
  }

  private async shutdown(hard: boolean): Promise<void> {
    const wasFailed = this.currentState === 'failed'
    this.stopping = true
    this.wake?.()
    const timeoutMs = this.options.closeTimeoutMs ?? 10_000
    // One budget for the whole graceful sequence (cancels, confirms, close-ok): a broker that
    // stopped answering costs `closeTimeoutMs` in all, not per step.
    let deadline = this.timers.now() + timeoutMs
    const left = (): number => Math.max(0, deadline - this.timers.now())
    // `destroy()` during this close: every wait below ends at once.
    const bounded = <T>(work: Promise<T>, ms: number): Promise<T | undefined> =>
      raceDelay(Promise.race([work, this.aborted]), ms, this.timers)
    let cutShort = false
    // Settles at most once, with the supervisor; nothing to await.
    void this.aborted.then(() => {
      cutShort = true
      deadline = 0
    })
    const gen = this.current
    if (!wasFailed) this.setState('closing')
    if (gen && !gen.lost) {
      if (!hard) {
        const cancels = async (): Promise<void> => {
          for (const entry of this.consumers) {
            if (entry.tag && entry.generation === gen.id) {
              await gen.consume.cancel(entry.tag).catch(() => undefined)
            }
          }
        }
        // A broker that stopped answering never sends cancel-ok: bound the wait.
        await bounded(cancels(), left())
        const drained = await bounded(
          this.until(() => gen.lost || (gen.inflight.size === 0 && this.queue.length === 0), left()),
          left(),
        )
        if (!drained && !cutShort) {
          this.logger.warn(
            `closing with ${gen.inflight.size} publishes unconfirmed and ${this.queue.length} unsent after ${timeoutMs} ms`,
          )
        }
        gen.acks.flush()
      }
      if (hard) gen.connection.destroy()
      else {
        // Close the channels first: amqplib may send connection.close ahead of acks still queued
        // on a channel, and the broker would then requeue messages we acked. A channel's close-ok
        // comes after everything sent before it on that channel.
        const closeAll = async (): Promise<void> => {
          await Promise.allSettled([
            gen.consume.close(),
            gen.main.close(),
            gen.log.close(),
            ...gen.retiring.map(({ channel }) => channel.close()),
          ])
          await gen.connection.close()
        }
        // close-ok never comes on a dead socket: bound the wait, then drop the socket (an open
        // one would keep the process alive).
        const closed = await bounded(
          closeAll().then(
            () => true,
            () => true,
          ),
          left(),
        )
        if (closed !== true) gen.connection.destroy()
      }
      this.lose(gen, undefined)
    }
    // The loop may be inside a connection attempt: it sees `stopping` and closes what it opened.
    // (its socket is gone or closed by now, so it ends at once; bounded all the same)
    if (this.running) await raceDelay(this.running, Math.max(left(), 1_000), this.timers)
    this.rejectQueued(
      new ConnectionError('SUPERVISOR_CLOSED', 'the supervisor closed before this message could be sent'),
    )
    this.consumers.clear()
    if (!wasFailed) this.setState('closed')
    this.emit('closed')
  }
}

function returnKey(exchange: string, routingKey: string): string {
  return `${exchange}\u0000${routingKey}`
}

/** `work`'s value, or `undefined` after `ms`; the timer never outlives the race (it would keep the process up). */
async function raceDelay<T>(work: Promise<T>, ms: number, timers: Timers): Promise<T | undefined> {
  let timer: TimerHandle | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = timers.setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    timer?.cancel()
  }
}

/**
 * Creates a supervisor and starts connecting in the background; `await supervisor.ready()` to wait
 * for the first connection.
 * @example
 * await using bus = createSupervisor({ urls: process.env.AMQP_URL ?? 'amqp://localhost', topology })
 * await bus.ready()
 * await bus.publish('events', 'SomethingHappened', body, { persistent: true })
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  return new Supervisor(options).start()
}
