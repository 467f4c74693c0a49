import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import {
  type Consumer,
  createSupervisor,
  type Delivery,
  defaultConnectionName,
  defineTopology,
  EXCHANGES,
  eventailTopology,
  type Logger,
  PublishError,
  type PublishOptions,
  type ReturnedMessage,
  type SupervisorLike,
  type SupervisorOptions,
} from '@am/bus-core'
import { CBOR, type ContentType, decode, encode, JSON_CONTENT_TYPE } from '@am/codec'
import { type Batch, type BatchHost, type BatchMember, batchOf } from './batch.js'
import { RequestError, ServiceError } from './errors.js'
import { gelf, type LevelName, type LogOptions } from './gelf.js'
import { type HealthMembership, joinHealthServer } from './health.js'
import { ack, BUCKET_BOUNDS, type InputRecord, Metrics, nack, now, observeSince, type ServiceStats } from './metrics.js'
import { isRawBody, type RawBody, rawBody, rawBuffer } from './raw.js'
import { HandlerTable } from './routing.js'
import { loadTracing, type Tracing } from './tracing.js'
import {
  commandProperties,
  configurationProperties,
  type Envelope,
  eventProperties,
  isRefusal,
  type MessageKind,
  openEnvelope,
  type ResultStatus,
  resultProperties,
  routingKeyOf,
} from './wire.js'

/** Payload types by routing key, per kind; declare them to type-check handlers and publishes. */
export interface ServiceMessages {
  events: Record<string, unknown>
  commands: Record<string, unknown>
  results: Record<string, unknown>
  configurations: Record<string, unknown>
}

/** Any routing key, any payload. */
export interface UntypedMessages extends ServiceMessages {
  events: Record<string, unknown>
  commands: Record<string, unknown>
  results: Record<string, unknown>
  configurations: Record<string, unknown>
}

/**
 * What a handler returns: nothing or `'ack'` to acknowledge once its publishes are confirmed,
 * `'requeue'` to put the message back, `'drop'` to dead-letter it. A throw means: requeue once,
 * then dead-letter.
 */
export type Outcome = 'ack' | 'requeue' | 'drop' | undefined

/** A handler may also return nothing at all (`async (p) => { … }`). */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers written without a return statement return void
type HandlerVoid = void

/** Acknowledgement taken over by a handler with `ctx.takeAck()`. */
export interface ManualAck {
  /** Acks the message once every publish the handler made is confirmed. */
  ack(): Promise<void>
  /** Requeues (`true`) or dead-letters (`false`, the default) the message. */
  nack(requeue?: boolean): void
}

/** What a handler knows about the message it handles, and the publishes bound to it. */
export interface MessageContext<M extends ServiceMessages = UntypedMessages> {
  readonly kind: MessageKind
  readonly routingKey: string
  /** The exchange it was delivered from. */
  readonly exchange: string
  /** `''` for configurations. */
  readonly conversationId: string
  /** `''` when absent. */
  readonly correlationId: string
  /** `''` when absent. */
  readonly replyTo: string
  /** Result status (`success`, `error` or what a foreign service sent); `''` for other kinds. */
  readonly status: string
  /** Set by the broker when delivered before without an ack. */
  readonly redelivered: boolean
  /** `x-delivery-count` (quorum queues), when the broker sets it. */
  readonly deliveryCount: number | undefined
  /** Headers other than `conversation_id` (and `status` on commands/results): eventail's meta. */
  readonly headers: Readonly<Record<string, unknown>>
  /** The raw delivery (properties such as timestamp, expiration, userId, appId). */
  readonly delivery: Delivery
  /**
   * The body as delivered, bytes and content type: pass it as the payload of a publish to forward
   * it byte for byte (decoding then encoding may change it: an integral float goes out an integer).
   */
  readonly raw: RawBody
  /**
   * Publishes an event in this conversation; the message is acked only after it is confirmed.
   * A `rawBody(…)` payload (or `ctx.raw`) is sent as it is.
   */
  publishEvent<K extends keyof M['events'] & string>(
    name: K,
    payload: M['events'][K] | RawBody,
    options?: PublishEventOptions,
  ): Promise<void>
  /**
   * Sends a command in this conversation; the message is acked only after it is confirmed.
   * A `rawBody(…)` payload (or `ctx.raw`) is sent as it is.
   */
  sendCommand<K extends keyof M['commands'] & string>(
    command: K,
    payload: M['commands'][K] | RawBody,
    options: SendCommandOptions,
  ): Promise<void>
  /** Logs to the bus with this conversation id. */
  log(level: LevelName | number, short: string, options?: LogOptions): void
  /** Takes over acknowledgement: the handler's return value no longer acks. */
  takeAck(): ManualAck
}

/** Context of a command handler: replies go to the command's reply-to. */
export interface CommandContext<M extends ServiceMessages = UntypedMessages> extends MessageContext<M> {
  /** Publishes a success result to the reply-to, with the command's correlation id; a `rawBody(…)` as it is. */
  returnSuccess(payload: unknown): Promise<void>
  /** Publishes an expected-error result to the reply-to, with the command's correlation id; a `rawBody(…)` as it is. */
  returnError(payload: unknown): Promise<void>
}

/** Handler of an event or a result. */
export type MessageHandler<P, M extends ServiceMessages = UntypedMessages> = (
  payload: P,
  ctx: MessageContext<M>,
) => Outcome | HandlerVoid | Promise<Outcome | HandlerVoid>
/** Handler of a command. */
export type CommandHandler<P, M extends ServiceMessages = UntypedMessages> = (
  payload: P,
  ctx: CommandContext<M>,
) => Outcome | HandlerVoid | Promise<Outcome | HandlerVoid>
/** Handler of a configuration: true when the service is now configured. */
export type ConfigurationHandler<P, M extends ServiceMessages = UntypedMessages> = (
  payload: P,
  ctx: MessageContext<M>,
) => boolean | undefined | Promise<boolean | undefined>

/**
 * The handler table: its keys are the subscriptions (routing keys or topic patterns with `*`/`#`).
 * `results` keys are the reply-to keys of the commands this service sends.
 */
export interface Handlers<M extends ServiceMessages = UntypedMessages> {
  events?: { [K in keyof M['events'] & string]?: MessageHandler<M['events'][K], M> }
  commands?: { [K in keyof M['commands'] & string]?: CommandHandler<M['commands'][K], M> }
  results?: { [K in keyof M['results'] & string]?: MessageHandler<M['results'][K], M> }
  configurations?: { [K in keyof M['configurations'] & string]?: ConfigurationHandler<M['configurations'][K], M> }
}

/** Options of `publishEvent`. */
export interface PublishEventOptions {
  /** Required outside a handler; inside one, defaults to the handled message's. */
  conversationId?: string
  /** @default false (as eventail: some events have no consumer yet) */
  mandatory?: boolean
}

/** Options of `sendCommand`. */
export interface SendCommandOptions {
  /** Required outside a handler; inside one, defaults to the handled message's. */
  conversationId?: string
  /** Where the result goes: a key this service binds in `results`, e.g. `<service>.ThingDone`. */
  replyTo: string
  /**
   * The command's correlation id, given back in its result. Absent or `''`: a fresh UUID (eventail
   * sends whatever its caller gave, often `''`, which leaves results impossible to match).
   * @default a fresh UUID
   */
  correlationId?: string
  /** @default true */
  mandatory?: boolean
}

/** Options of `returnSuccess` / `returnError`. */
export interface ReturnResultOptions {
  conversationId: string
  correlationId?: string
  /** @default true */
  mandatory?: boolean
}

/** Options of `request`. */
export interface RequestOptions {
  /** Required outside a handler. */
  conversationId: string
  /**
   * @default 30000
   */
  timeoutMs?: number
}

/** A returned (unroutable) publish, as given to `handleReturnedMessage`. */
export interface Returned extends ReturnedMessage {
  /** The decoded body, or undefined when it does not decode. */
  payload: unknown
  /** eventail's envelope: reply_to and correlation_id when non-empty, plus the headers. */
  envelope: Record<string, unknown>
}

/** Options of a service. */
export interface ServiceOptions {
  /** Broker URLs, tried round-robin. */
  urls: string | readonly string[]
  /**
   * Unacknowledged messages per consumer, handled concurrently.
   * @default 3
   */
  prefetch?: number
  /**
   * Send JSON instead of CBOR (eventail's `use_json()`).
   * @default false
   */
  json?: boolean
  /**
   * Exclusive server-named queues instead of the shared durable ones (debug tools).
   * @default false
   */
  exclusiveQueues?: boolean
  /**
   * Queue type of the durable service queues (`quorum` for clusters).
   * @default 'classic'
   */
  queueType?: 'classic' | 'quorum'
  /**
   * Stop gracefully on SIGTERM, SIGINT and SIGHUP (handlers installed once per process).
   * @default true
   */
  handleSignals?: boolean
  /**
   * How long `stop()` waits for the consumers' cancels and the handlers in flight (their outputs
   * confirmed), in ms, in all; the supervisor's `closeTimeoutMs` (10 s by default) then bounds the
   * close. A broker that stopped answering costs at most their sum.
   * @default 10000
   */
  stopTimeoutMs?: number
  /**
   * Re-publishes of a publish the broker nacked, with these delays (ms), before the handled
   * message counts as failed.
   * @default [200, 1000, 5000]
   */
  nackRetryDelaysMs?: readonly number[]
  /** Local log of the framework (the bus log is `log()`). @default null */
  logger?: Logger | null
  /** Passed to the supervisor (heartbeat, reconnect, tls, buffer…). */
  supervisor?: Omit<SupervisorOptions, 'urls' | 'topology' | 'logger'>
  /**
   * Record metrics: per routing key counters, handler duration and confirm latency histograms
   * (`stats()`, and `/metrics` on the health endpoint). With `false` the hot path records nothing;
   * `stats()` still gives the gauges.
   * @default true
   */
  metrics?: boolean
  /**
   * Add Node's process metrics to `/metrics` (prom-client's `collectDefaultMetrics`: CPU, memory,
   * event-loop lag, GC, handles; `process_*` and `nodejs_*`): once per endpoint, without a `service`
   * label, while at least one of its services asks for them.
   * @default true
   */
  processMetrics?: boolean
  /**
   * Serve `/healthz`, `/readyz` and `/metrics` on this port; also set by the environment variable
   * `AM_HEALTH_PORT`. Every service of the process with the same port is served by one server (it
   * closes when the last one stops); 0 gives this service a server of its own on any free port
   * (see `healthPort`). Off by default.
   */
  healthPort?: number
  /**
   * Makes the supervisor: the transport seam, e.g. an in-memory bus for tests (`@am/testing`).
   * @default createSupervisor from @am/bus-core
   */
  supervisorFactory?: (options: SupervisorOptions) => SupervisorLike
  /**
   * Trace propagation with OpenTelemetry when `@opentelemetry/api` is installed: spans around
   * publishes and handlers, W3C trace context in the headers (see the README). `false` turns it off.
   * @default true
   */
  tracing?: boolean
}

/** Where a service is in its life. */
export type ServiceState = 'idle' | 'starting' | 'unconfigured' | 'ready' | 'reconnecting' | 'stopping' | 'stopped'

/** Events of a service. */
export interface ServiceEvents {
  state: [state: ServiceState]
}

type AnyHandler = (payload: unknown, ctx: never) => unknown

/** A loose publish (see `#loose`) and, once settled, its result. */
interface LoosePublish {
  number: number
  result: PromiseSettledResult<void> | undefined
}
const NO_LOOSE: readonly LoosePublish[] = []
const FULFILLED: PromiseFulfilledResult<void> = { status: 'fulfilled', value: undefined }
type Origin = 'events' | 'commands' | 'configurations'
/** The kind counted for a refused message, which has none: its queue's (results come on the commands queue). */
const KIND_OF: Record<Origin, MessageKind> = { events: 'event', commands: 'command', configurations: 'configuration' }

const noop = (): void => {}

/**
 * The base class of a service. Subclass it, name the logical service, return the handler table,
 * and call `start()`; the framework connects, declares the topology, consumes, acks after the
 * outputs are confirmed, retries, dead-letters, logs to the bus and stops gracefully.
 * @example
 * class Pong extends Service {
 *   readonly name = 'pong'
 *   protected handlers(): Handlers {
 *     return { commands: { 'pong.Echo': (payload, ctx) => ctx.returnSuccess(payload) } }
 *   }
 * }
 * await new Pong({ urls: 'amqp://localhost' }).start()
 */
export abstract class Service<M extends ServiceMessages = UntypedMessages> extends EventEmitter<ServiceEvents> {
  /** The logical service name: queues `<name>.events` / `<name>.commands`, logs `<name>.<LEVEL>`. */
  abstract readonly name: string

  readonly #options: ServiceOptions
  readonly #logger: Logger | null
  #bus: SupervisorLike | undefined
  #currentState: ServiceState = 'idle'
  #contentType: ContentType
  #exclusive: boolean
  #tables: Record<Origin | 'results', HandlerTable<AnyHandler>> | undefined
  #business: Consumer[] = []
  #configConsumer: Consumer | undefined
  #configured = false
  #sessionGeneration = 0
  /** Messages being handled; `stop()` waits for none (`#whenIdle`). */
  #handling = 0
  #whenIdle: (() => void) | undefined
  /** Unsettled publishes made through the service (not a context) while messages are handled, by number. */
  readonly #loosePublishes = new Map<number, LoosePublish>()
  #looseCount = 0
  /** Handlers waiting for every loose publish numbered up to `upTo`, in `upTo` order. */
  readonly #looseWaiters: Array<{ upTo: number; resolve: () => void }> = []
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #requests = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >()
  #replyKey: string | undefined
  #replyReady: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #started: Promise<void> | undefined
  readonly #stoppedPromise: Promise<void>
  #resolveStopped: () => void = noop
  #booted = false
  #health: HealthMembership | undefined
  readonly #metrics: Metrics | undefined
  /** Set at start when tracing is on and `@opentelemetry/api` is installed. */
  #tracing: Tracing | undefined
  /** The last connection generation lost: deliveries of it and before can no longer be acked. */
  #lostGeneration = 0
  /** The `batch()` entries of the handler table. */
  #batches: Batch[] = []
  /** What handling contexts may call; closures, so that nothing internal is an instance member a subclass could shadow. */
  readonly #internals: ServiceInternals = {
    sendEvent: (name, payload, conversationId, mandatory) => this.#sendEvent(name, payload, conversationId, mandatory),
    sendCommandNow: (command, payload, conversationId, options) =>
      this.#sendCommandNow(command, payload, conversationId, options),
    sendResult: (destination, payload, status, options) => this.#sendResult(destination, payload, status, options),
    log: (level, short, options) => this.log(level, short, options),
    connectionGone: (delivery) => delivery.generation <= this.#lostGeneration,
    fail: (delivery, conversationId, error, record) => this.#fail(delivery, conversationId, error, record),
  }

  constructor(options: ServiceOptions) {
    super()
    this.#options = options
    this.#logger = options.logger ?? null
    this.#contentType = options.json ? JSON_CONTENT_TYPE : CBOR
    this.#exclusive = options.exclusiveQueues ?? false
    this.#metrics = options.metrics === false ? undefined : new Metrics()
    this.#stoppedPromise = new Promise((resolve) => {
      this.#resolveStopped = resolve
    })
  }

  /** The handler table; its keys are the subscriptions. Called once, at start. */
  protected abstract handlers(): Handlers<M>

  /** Called when the business consumers are registered (Consume-Ok), at start and after each reconnection. */
  protected onReady(): void | Promise<void> {}

  /** Called when waiting for configuration (services with configuration handlers), at every connection. */
  protected onUnconfigured(): void | Promise<void> {}

  /**
   * Called for every returned (unroutable) `mandatory` publish. When the publish was made while
   * handling a message, the return value decides that message's fate; the default, `'drop'`,
   * dead-letters it (so an unroutable result is not lost silently: eventail's B10) and logs at ERROR.
   */
  protected handleReturnedMessage(returned: Returned): Outcome | Promise<Outcome> {
    this.log('ERROR', `Unroutable message ${returned.exchange}/${returned.routingKey}: ${returned.replyText}`, {
      conversationId: typeof returned.envelope.conversation_id === 'string' ? returned.envelope.conversation_id : '',
    })
    return 'drop'
  }

  /** The service's state. */
  get state(): ServiceState {
    return this.#currentState
  }

  /** The supervisor, once started (for stats and events). */
  get supervisor(): SupervisorLike | undefined {
    return this.#bus
  }

  /**
   * Liveness and readiness: alive while the process and its supervisor work (not stopped, not
   * failed); ready when connected and consuming business messages.
   */
  health(): { alive: boolean; ready: boolean; state: ServiceState } {
    const state = this.#currentState
    const failed = this.#bus?.state === 'failed'
    return {
      alive: !failed && state !== 'stopped',
      ready: state === 'ready' && (this.#bus?.isConnected ?? false),
      state,
    }
  }

  /**
   * A plain, JSON-serialisable snapshot of the metrics: gauges (always), and counters and
   * histograms by routing key (empty with `metrics: false`). `/metrics` serves the same.
   */
  stats(): ServiceStats {
    const bus = this.#bus
    const sup = bus?.stats()
    const recorded = this.#metrics?.snapshot()
    return {
      service: this.name,
      state: this.#currentState,
      metrics: this.#metrics !== undefined,
      gauges: {
        inFlight: this.#handling,
        unsettled: sup?.unsettled ?? 0,
        unconfirmed: sup?.unconfirmed ?? 0,
        buffered: sup?.buffered ?? 0,
        bufferedBytes: sup?.bufferedBytes ?? 0,
        connectionState: sup?.state ?? 'idle',
        connected: bus?.isConnected ?? false,
        generation: sup?.generation ?? 0,
      },
      reconnections: recorded?.reconnections ?? 0,
      bucketBounds: BUCKET_BOUNDS,
      inputs: recorded?.inputs ?? [],
      outputs: recorded?.outputs ?? [],
      confirmLatency: recorded?.confirmLatency ?? [],
    }
  }

  /** The port of the health endpoint, when it runs. */
  get healthPort(): number | undefined {
    return this.#health?.port
  }

  /** Sends JSON instead of CBOR from now on (eventail's `use_json()`); call before `start()`. */
  useJson(): this {
    this.#contentType = JSON_CONTENT_TYPE
    return this
  }

  /** Uses exclusive server-named queues (debug tools); call before `start()`. */
  useExclusiveQueues(): this {
    this.#exclusive = true
    return this
  }

  /**
   * Connects and starts consuming. Resolves once ready (or unconfigured, for a service with
   * configuration handlers); rejects on a fatal error such as a topology clash. Resolves too when
   * `stop()` is called meanwhile.
   */
  start(): Promise<void> {
    this.#started ??= this.#boot()
    return this.#started
  }

  /** Resolves once the service has stopped. */
  get stopped(): Promise<void> {
    return this.#stoppedPromise
  }

  /**
   * Stops gracefully, in every state: logs `Shutting down…`, cancels the consumers, lets in-flight
   * handlers finish (bounded), waits for the confirms, closes. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown()
    return this.#stopping
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  // Publishing ------------------------------------------------------------------------------------

  /** Publishes an event (exchange `events`, routing key = name). */
  publishEvent<K extends keyof M['events'] & string>(
    name: K,
    payload: M['events'][K] | RawBody,
    options: PublishEventOptions & { conversationId: string },
  ): Promise<void> {
    return this.#loose(this.#sendEvent(name, payload, options.conversationId, options.mandatory ?? false))
  }

  /** Sends a command (exchange `commands`, routing key `<service>.<Command>`). */
  sendCommand<K extends keyof M['commands'] & string>(
    command: K,
    payload: M['commands'][K] | RawBody,
    options: SendCommandOptions & { conversationId: string },
  ): Promise<void> {
    return this.#loose(this.#sendCommandNow(command, payload, options.conversationId, options))
  }

  /** Publishes a success result to `destination` (a command's reply-to). */
  returnSuccess(destination: string, payload: unknown, options: ReturnResultOptions): Promise<void> {
    return this.#loose(this.#sendResult(destination, payload, 'success', options))
  }

  /** Publishes an expected-error result to `destination` (a command's reply-to). */
  returnError(destination: string, payload: unknown, options: ReturnResultOptions): Promise<void> {
    return this.#loose(this.#sendResult(destination, payload, 'error', options))
  }

  /** Publishes a configuration message (exchange `configurations`, not mandatory). */
  publishConfiguration<K extends keyof M['configurations'] & string>(
    name: K,
    payload: M['configurations'][K] | RawBody,
  ): Promise<void> {
    return this.#loose(
      this.#publish(
        'configuration',
        EXCHANGES.configurations,
        name,
        payload,
        configurationProperties(this.#contentType),
        false,
      ),
    )
  }

  /**
   * Sends a command and resolves with its success result's payload, matched by correlation id on a
   * private reply queue. Rejects with a `RequestError`: `REQUEST_FAILED` (error result),
   * `REQUEST_TIMEOUT`, `REQUEST_UNROUTABLE`. Results published while this instance was disconnected
   * are lost with its exclusive reply queue: the request then times out.
   */
  async request<K extends keyof M['commands'] & string>(
    command: K,
    payload: M['commands'][K] | RawBody,
    options: RequestOptions,
  ): Promise<unknown> {
    const replyTo = await this.#ensureReplyQueue()
    const correlationId = randomUUID()
    const timeoutMs = options.timeoutMs ?? 30_000
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(correlationId)
        reject(new RequestError('REQUEST_TIMEOUT', `no result for ${command} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#requests.set(correlationId, { resolve, reject, timer })
    })
    result.catch(noop)
    try {
      await this.#sendCommandNow(command, payload, options.conversationId, { replyTo, correlationId, mandatory: true })
    } catch (error) {
      const pending = this.#requests.get(correlationId)
      if (pending) {
        clearTimeout(pending.timer)
        this.#requests.delete(correlationId)
      }
      if (error instanceof PublishError && error.code === 'PUBLISH_RETURNED') {
        throw new RequestError('REQUEST_UNROUTABLE', `nobody consumes ${command}: the command is unroutable`, {
          cause: error,
        })
      }
      throw error
    }
    return result
  }

  /** Logs to the bus (GELF on `logs`, routing key `<service>.<LEVEL>`); never throws for the bus. */
  log(level: LevelName | number, short: string, options: LogOptions = {}): void {
    const { routingKey, body } = gelf(this.name, level, short, options)
    const bus = this.#bus
    if (!bus) return
    bus.publish(EXCHANGES.logs, routingKey, body, { confirm: false }).catch((error: Error) => {
      this.#logger?.debug(`log not sent: ${error.message}`)
    })
  }

  /** Runs `callback` after `delayMs`; errors are logged (ALERT), never fatal. Cleared by `stop()`. */
  callLater(delayMs: number, callback: () => unknown): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      void Promise.resolve()
        .then(callback)
        .catch((error: Error) =>
          this.log('ALERT', 'Unhandled error in a timer', { full: error.stack ?? String(error) }),
        )
    }, delayMs)
    this.#timers.add(timer)
    return timer
  }

  /** Cancels a `callLater` timer. */
  cancelTimer(timer: NodeJS.Timeout): void {
    clearTimeout(timer)
    this.#timers.delete(timer)
  }

  // Lifecycle -------------------------------------------------------------------------------------

  #setState(state: ServiceState): void {
    if (this.#currentState === state) return
    this.#currentState = state
    this.emit('state', state)
  }

  async #boot(): Promise<void> {
    if (this.#stopping) return
    const table = this.handlers()
    if (!this.name || /[#*\s]/.test(this.name)) {
      throw new ServiceError('SERVICE_INVALID', `invalid service name '${this.name}': name the logical service`)
    }
    const host = this.#batchHost()
    const batches: Batch[] = []
    const build = (
      entries: Record<string, unknown> | undefined,
      origin: Origin | 'results',
    ): HandlerTable<AnyHandler> => {
      const pairs: Array<[string, AnyHandler]> = []
      for (const [key, handler] of Object.entries(entries ?? {})) {
        if (typeof handler !== 'function') {
          throw new ServiceError('SERVICE_INVALID', `the handler of '${key}' in ${this.name} is not a function`)
        }
        const batched = batchOf(handler)
        if (batched) {
          if (origin === 'configurations') {
            throw new ServiceError('SERVICE_INVALID', `the configuration '${key}' in ${this.name} cannot be batched`)
          }
          batched.attach(host, key)
          batches.push(batched)
        }
        pairs.push([key, handler as AnyHandler])
      }
      return new HandlerTable(pairs)
    }
    this.#tables = {
      events: build(table.events, 'events'),
      commands: build(table.commands, 'commands'),
      results: build(table.results, 'results'),
      configurations: build(table.configurations, 'configurations'),
    }
    this.#batches = batches
    const topology = eventailTopology({
      service: this.name,
      events: this.#tables.events.keys,
      commands: [...this.#tables.commands.keys, ...this.#tables.results.keys],
      configurations: this.#tables.configurations.keys,
      exclusive: this.#exclusive,
      queueType: this.#options.queueType ?? 'classic',
    })
    this.#setState('starting')
    const healthPort = this.#options.healthPort ?? portFromEnv(process.env.AM_HEALTH_PORT)
    if (healthPort !== undefined) {
      try {
        this.#health = await joinHealthServer(this, healthPort, {
          processMetrics: this.#options.processMetrics !== false,
        })
      } catch (error) {
        throw new ServiceError(
          'SERVICE_INVALID',
          `cannot serve /healthz on port ${healthPort}: ${(error as Error).message}`,
          {
            cause: error,
          },
        )
      }
    }
    if (this.#options.handleSignals !== false) trapSignals(this as unknown as Service<ServiceMessages>)
    // Loaded meanwhile: the supervisor is made synchronously by start() (@am/testing relies on it).
    const tracing = this.#options.tracing !== false ? loadTracing() : undefined
    const bus = (this.#options.supervisorFactory ?? createSupervisor)({
      connectionName: defaultConnectionName(this.name),
      ...this.#options.supervisor,
      urls: this.#options.urls,
      topology,
      logger: this.#logger,
    })
    this.#bus = bus
    bus.on('disconnected', ({ generation }) => {
      if (generation > this.#lostGeneration) this.#lostGeneration = generation
      // Their messages come back to the queue: a batch must not count them any more.
      for (const batched of this.#batches) batched.prune()
      if (this.#stopping) return
      this.#setState('reconnecting')
      if (this.#tables?.configurations.size) {
        // Every connection starts unconfigured (eventail ≥ 2.2.5): business consumers wait again.
        this.#configured = false
        const business = this.#business
        this.#business = []
        for (const consumer of business) void consumer.cancel()
      }
    })
    bus.on('connected', ({ generation }) => {
      if (generation > 1 && this.#metrics) this.#metrics.reconnections += 1
      if (!this.#booted || generation <= this.#sessionGeneration || this.#stopping) return
      this.#sessionGeneration = generation
      void this.#enterSession().catch((error: Error) => this.#logger?.error(`session start failed: ${error.message}`))
    })
    if (tracing) this.#tracing = await tracing
    try {
      await bus.ready()
    } catch (error) {
      if (this.#stopping) return
      await this.stop()
      throw error
    }
    if (this.#stopping) return
    this.#sessionGeneration = bus.generation
    this.#booted = true
    await this.#enterSession()
  }

  async #enterSession(): Promise<void> {
    const bus = this.#bus
    const tables = this.#tables
    if (!bus || !tables || this.#stopping) return
    if (tables.configurations.size > 0) {
      this.#configConsumer ??= await bus.consume('configurations', (d) => this.#dispatch(d, 'configurations'), {
        prefetch: this.#options.prefetch ?? 3,
      })
      this.#setState('unconfigured')
      await this.onUnconfigured()
    } else {
      if (this.#business.length === 0) await this.#startBusiness()
      this.#setState('ready')
      await this.onReady()
    }
  }

  async #startBusiness(): Promise<void> {
    const bus = this.#bus
    const tables = this.#tables
    if (!bus || !tables) return
    const prefetch = this.#options.prefetch ?? 3
    if (tables.events.size > 0) {
      this.#business.push(await bus.consume('events', (d) => this.#dispatch(d, 'events'), { prefetch }))
    }
    if (tables.commands.size + tables.results.size > 0) {
      this.#business.push(await bus.consume('commands', (d) => this.#dispatch(d, 'commands'), { prefetch }))
    }
  }

  async #configuredNow(): Promise<void> {
    if (this.#configured || this.#stopping) return
    this.#configured = true
    await this.#startBusiness()
    this.#setState('ready')
    await this.onReady()
  }

  async #shutdown(): Promise<void> {
    const previous = this.#currentState
    this.#setState('stopping')
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    const bus = this.#bus
    const timeoutMs = this.#options.stopTimeoutMs ?? 10_000
    // One budget for the cancels and the handlers in flight, then the supervisor's own
    // (`closeTimeoutMs`): a hung broker costs stopTimeoutMs + closeTimeoutMs in all (20 s by default).
    const deadline = performance.now() + timeoutMs
    const left = (): number => Math.max(0, deadline - performance.now())
    if (bus && previous !== 'idle') {
      if (bus.isConnected) this.log('WARNING', 'Shutting down…')
      const consumers = [...this.#business, ...(this.#configConsumer ? [this.#configConsumer] : [])]
      this.#business = []
      this.#configConsumer = undefined
      // A broker that stopped answering never confirms the cancels: bound the wait.
      await within(Promise.allSettled(consumers.map((c) => c.cancel())), left())
      // Pending batches run now; they count as messages in flight, waited for below.
      for (const batched of this.#batches) void batched.flush()
      if (this.#handling > 0) {
        await within(
          new Promise<void>((resolve) => {
            this.#whenIdle = resolve
          }),
          left(),
        )
      }
      for (const [id, pending] of this.#requests) {
        clearTimeout(pending.timer)
        pending.reject(new ServiceError('SERVICE_STOPPED', `the service stopped before the result of request ${id}`))
      }
      this.#requests.clear()
      await bus.close()
    }
    await this.#health?.leave()
    this.#health = undefined
    untrapSignals(this as unknown as Service<ServiceMessages>)
    this.#setState('stopped')
    this.#resolveStopped()
  }

  // Handling --------------------------------------------------------------------------------------

  // A counter rather than a set of promises: no per-message `finally` chain on the hot path.
  #dispatch(delivery: Delivery, origin: Origin): void {
    this.#handling += 1
    const tracing = this.#tracing
    const handling = tracing
      ? tracing.process(delivery, () => this.#handle(delivery, origin))
      : this.#handle(delivery, origin)
    void handling.then(this.#handled, (error: Error) => {
      try {
        // Only a bug in the framework gets here; keep the message and the process.
        this.#logger?.error(`message handling failed: ${error.stack ?? error.message}`)
        delivery.nack(!delivery.redelivered)
      } finally {
        this.#handled()
      }
    })
  }

  readonly #handled = (): void => {
    this.#handling -= 1
    if (this.#handling === 0) this.#whenIdle?.()
  }

  async #handle(delivery: Delivery, origin: Origin): Promise<void> {
    const rk = routingKeyOf(delivery)
    const envelope = openEnvelope(delivery, origin)
    if (isRefusal(envelope)) {
      const record = this.#metrics?.received(KIND_OF[origin], rk)
      this.log('EMERGENCY', envelope.log, { full: envelope.detail, conversationId: envelope.conversationId })
      this.#tracing?.recordFailure(new ServiceError('MESSAGE_REFUSED', envelope.log))
      nack(delivery, false, record)
      return
    }
    const record = this.#metrics?.received(envelope.kind, rk)
    const tables = this.#tables as Record<Origin | 'results', HandlerTable<AnyHandler>>
    const table = envelope.kind === 'result' ? tables.results : tables[origin]
    const handler = table.find(rk)
    if (!handler) {
      this.log('EMERGENCY', `No ${envelope.kind} handler for ${rk}; dead lettering.`, {
        full: `subscribed keys: ${table.keys.join(', ') || 'none'}`,
        conversationId: envelope.conversationId,
      })
      this.#tracing?.recordFailure(new ServiceError('MESSAGE_REFUSED', `no ${envelope.kind} handler for ${rk}`))
      nack(delivery, false, record)
      return
    }
    // A message of a shared durable queue comes back if its connection dies before the ack: then
    // its handler's outputs are not sent (the redelivery makes them again), which saves a duplicate
    // of each. Exclusive queues die with their connection: their handlers' outputs always go.
    const redeliverable = origin !== 'configurations' && !this.#exclusive
    const ctx = new HandlingContext<M>(this.#internals, delivery, envelope, rk, record, redeliverable)
    let outcome: unknown
    let failure: unknown
    const looseBefore = this.#loosePublishes.size > 0 ? [...this.#loosePublishes.values()] : NO_LOOSE
    const started = record !== undefined ? now() : 0
    try {
      outcome = await (handler as (p: unknown, c: unknown) => unknown)(envelope.payload, ctx)
    } catch (error) {
      failure = error
    }
    if (record !== undefined) observeSince(record.duration, started)
    if (envelope.kind === 'configuration' && failure === undefined && outcome === true) {
      void this.#configuredNow().catch((error: Error) =>
        this.#logger?.error(`starting consumers failed: ${error.message}`),
      )
    }
    const looseAfter = this.#loosePublishes.size > 0 ? [...this.#loosePublishes.values()] : NO_LOOSE
    // Waits for every loose publish unsettled now or at the start, i.e. numbered up to the last one.
    const looseSettled =
      looseAfter.length > 0
        ? new Promise<void>((resolve) => this.#looseWaiters.push({ upTo: this.#looseCount, resolve }))
        : undefined
    const outputs = await Promise.allSettled(ctx.publishes)
    if (looseSettled) await looseSettled
    for (const entry of looseBefore) outputs.push(entry.result as PromiseSettledResult<void>)
    for (const entry of looseAfter) outputs.push(entry.result as PromiseSettledResult<void>)
    if (failure !== undefined) {
      // A handler that awaited its own publish sees that publish's failure: not a handler bug.
      if (failure instanceof PublishError && failure.code === 'PUBLISH_RETURNED') {
        outputs.push({ status: 'rejected', reason: failure })
      } else if (failure instanceof PublishError && failure.code === 'PUBLISH_CHANNEL_CLOSED') return
      else {
        if (record !== undefined) record.handlerErrors += 1
        this.#fail(delivery, envelope.conversationId, failure, record)
        return
      }
    }
    let returned: PublishError | undefined
    for (const output of outputs) {
      if (output.status === 'fulfilled') continue
      const error = output.reason as Error
      if (error instanceof PublishError && error.code === 'PUBLISH_CHANNEL_CLOSED') return // redelivered anyway
      if (error instanceof PublishError && error.code === 'PUBLISH_RETURNED') returned ??= error
      else {
        this.#fail(delivery, envelope.conversationId, error, record)
        return
      }
    }
    if (ctx.manual) return
    if (returned) {
      // handleReturnedMessage decided (and logged): its outcome wins over the handler's.
      const decided = (returned as PublishError & { outcome?: Outcome }).outcome ?? 'drop'
      if (decided === 'drop') nack(delivery, false, record)
      else if (decided === 'requeue') nack(delivery, true, record)
      else ctx.ackNow()
      return
    }
    if (outcome === 'requeue') nack(delivery, true, record)
    else if (outcome === 'drop') {
      this.log('ERROR', `Dropping ${rk} as its handler asked; dead lettering.`, {
        conversationId: envelope.conversationId,
      })
      nack(delivery, false, record)
    } else ctx.ackNow()
  }

  /** Handler failure: ALERT, requeue once, then EMERGENCY and dead-letter. */
  #fail(delivery: Delivery, conversationId: string, error: unknown, record: InputRecord | undefined): void {
    const rk = routingKeyOf(delivery)
    const full = error instanceof Error ? (error.stack ?? error.message) : String(error)
    this.#tracing?.recordFailure(error)
    this.log('ALERT', `Unhandled error while processing message ${rk}`, { full, conversationId })
    const count = deliveryCount(delivery)
    const giveUp = count !== undefined ? count >= 1 : delivery.redelivered
    if (giveUp) {
      this.log('EMERGENCY', `Giving up on ${rk}`, { full, conversationId })
      nack(delivery, false, record)
    } else nack(delivery, true, record)
  }

  /** What the batches of the handler table may call. */
  #batchHost(): BatchHost {
    return {
      service: this.name,
      prefetch: this.#options.prefetch ?? 3,
      hold: () => {
        this.#handling += 1
        let held = true
        return () => {
          if (!held) return
          held = false
          this.#handled()
        }
      },
      watchLoose: () => {
        const before = this.#loosePublishes.size > 0 ? [...this.#loosePublishes.values()] : NO_LOOSE
        return async () => {
          const after = this.#loosePublishes.size > 0 ? [...this.#loosePublishes.values()] : NO_LOOSE
          // Every loose publish unsettled now or at the start, i.e. numbered up to the last one.
          if (after.length > 0) {
            await new Promise<void>((resolve) => this.#looseWaiters.push({ upTo: this.#looseCount, resolve }))
          }
          return [...before, ...after].map((entry) => entry.result as PromiseSettledResult<void>)
        }
      },
      log: (level, short, options) => this.log(level, short, options),
      error: (message) => this.#logger?.error(message),
    }
  }

  // Internals shared with contexts ---------------------------------------------------------------

  /** Internal: bound into contexts. */
  #sendEvent(name: string, payload: unknown, conversationId: string, mandatory: boolean): Promise<void> {
    const properties = eventProperties(conversationId, this.#contentType)
    return this.#publish('event', EXCHANGES.events, name, payload, properties, mandatory)
  }

  /** Internal: bound into contexts. */
  #sendCommandNow(
    command: string,
    payload: unknown,
    conversationId: string,
    options: { replyTo: string; correlationId?: string; mandatory?: boolean },
  ): Promise<void> {
    const properties = commandProperties(
      conversationId,
      options.replyTo,
      options.correlationId || randomUUID(),
      this.#contentType,
    )
    return this.#publish('command', EXCHANGES.commands, command, payload, properties, options.mandatory ?? true)
  }

  /** Internal: bound into contexts. */
  #sendResult(
    destination: string,
    payload: unknown,
    status: ResultStatus,
    options: ReturnResultOptions,
  ): Promise<void> {
    const properties = resultProperties(options.conversationId, status, options.correlationId ?? '', this.#contentType)
    return this.#publish('result', EXCHANGES.commands, destination, payload, properties, options.mandatory ?? true)
  }

  /** Publishes, in a PRODUCER span when tracing (`tracing.ts`). */
  #publish(
    kind: MessageKind,
    exchange: string,
    routingKey: string,
    payload: unknown,
    given: PublishOptions,
    mandatory: boolean,
  ): Promise<void> {
    // A raw body goes with its own content type (none when it had none).
    const properties = isRawBody(payload) ? { ...given, contentType: payload.contentType || undefined } : given
    const tracing = this.#tracing
    if (!tracing) return this.#publishConfirmed(kind, exchange, routingKey, payload, properties, mandatory)
    return tracing.publish(exchange, routingKey, properties, () =>
      this.#publishConfirmed(kind, exchange, routingKey, payload, properties, mandatory),
    )
  }

  /** Encodes and publishes with confirm, re-publishing nacked messages with backoff. */
  async #publishConfirmed(
    kind: MessageKind,
    exchange: string,
    routingKey: string,
    payload: unknown,
    properties: PublishOptions,
    mandatory: boolean,
  ): Promise<void> {
    const bus = this.#bus
    if (!bus || this.#currentState === 'stopped') {
      throw new ServiceError('SERVICE_STATE', `cannot publish ${routingKey}: the service is not started`)
    }
    const body = isRawBody(payload) ? rawBuffer(payload) : encode(payload, properties.contentType as ContentType)
    const metrics = this.#metrics
    const delays = this.#options.nackRetryDelaysMs ?? [200, 1000, 5000]
    for (let attempt = 0; ; attempt++) {
      const record = metrics?.published(kind, routingKey)
      const started = record !== undefined ? now() : 0
      try {
        await bus.publish(exchange, routingKey, body, { ...properties, mandatory })
        if (record !== undefined) metrics?.settled(record, started, undefined)
        return
      } catch (error) {
        if (record !== undefined) metrics?.settled(record, started, error)
        if (error instanceof PublishError && error.code === 'PUBLISH_NACKED' && attempt < delays.length) {
          this.#logger?.warn(`the broker nacked ${exchange}/${routingKey}; publishing again in ${delays[attempt]} ms`)
          await delay(delays[attempt] as number)
          continue
        }
        if (error instanceof PublishError && error.code === 'PUBLISH_RETURNED' && error.returned) {
          ;(error as PublishError & { outcome?: Outcome }).outcome = await this.#onReturned(error.returned)
        }
        throw error
      }
    }
  }

  async #onReturned(message: ReturnedMessage): Promise<Outcome> {
    let payload: unknown
    try {
      payload = decode(message.body, message.properties.contentType as string | undefined)
    } catch {
      payload = undefined
    }
    const envelope: Record<string, unknown> = {}
    if (message.properties.replyTo) envelope.reply_to = message.properties.replyTo
    if (message.properties.correlationId) envelope.correlation_id = message.properties.correlationId
    Object.assign(envelope, message.properties.headers ?? {})
    try {
      return await this.handleReturnedMessage({ ...message, payload, envelope })
    } catch (error) {
      this.log('EMERGENCY', `in handle_returned_message [${this.name}] ${(error as Error).message}`, {
        conversationId: typeof envelope.conversation_id === 'string' ? envelope.conversation_id : '',
      })
      return 'drop'
    }
  }

  /** Tracks a publish made through the service while messages are handled (eventail's global rule). */
  #loose(promise: Promise<void>): Promise<void> {
    if (this.#handling === 0) {
      promise.catch(noop)
      return promise
    }
    this.#looseCount += 1
    const entry: LoosePublish = { number: this.#looseCount, result: undefined }
    this.#loosePublishes.set(entry.number, entry)
    void promise.then(
      () => this.#looseSettled(entry, FULFILLED),
      (reason: unknown) => this.#looseSettled(entry, { status: 'rejected', reason }),
    )
    return promise
  }

  #looseSettled(entry: LoosePublish, result: PromiseSettledResult<void>): void {
    entry.result = result
    this.#loosePublishes.delete(entry.number)
    // The map keeps insertion order: its first key is the oldest unsettled publish.
    const oldest = this.#loosePublishes.keys().next().value ?? Number.POSITIVE_INFINITY
    const waiters = this.#looseWaiters
    while (waiters.length > 0 && (waiters[0] as { upTo: number }).upTo < oldest) waiters.shift()?.resolve()
  }

  #ensureReplyQueue(): Promise<string> {
    const bus = this.#bus
    if (!bus) return Promise.reject(new ServiceError('SERVICE_STATE', 'start the service before sending requests'))
    this.#replyKey ??= `${this.name}.reply-${randomUUID().slice(0, 8)}`
    const replyKey = this.#replyKey
    this.#replyReady ??= (async () => {
      await bus.extendTopology(
        defineTopology({
          queues: [{ key: 'replies', name: '' }],
          bindings: [{ queue: 'replies', exchange: EXCHANGES.commands, routingKey: replyKey }],
        }),
      )
      await bus.consume('replies', (delivery) => this.#onReply(delivery), { prefetch: 100 })
    })()
    return this.#replyReady.then(() => replyKey)
  }

  #onReply(delivery: Delivery): void {
    const envelope = openEnvelope(delivery, 'commands')
    delivery.ack()
    if (isRefusal(envelope) || envelope.kind !== 'result') {
      this.#logger?.warn(`ignored a malformed reply on ${delivery.routingKey}`)
      return
    }
    const pending = this.#requests.get(envelope.correlationId)
    if (!pending) {
      this.#logger?.debug(`late or unknown result ${envelope.correlationId} ignored`)
      return
    }
    clearTimeout(pending.timer)
    this.#requests.delete(envelope.correlationId)
    if (envelope.status === 'success') pending.resolve(envelope.payload)
    else {
      pending.reject(
        new RequestError('REQUEST_FAILED', `${delivery.routingKey}: error result (status ${envelope.status})`, {
          payload: envelope.payload,
          status: envelope.status,
        }),
      )
    }
  }
}

/** What a context needs from its service. */
interface ServiceInternals {
  sendEvent(name: string, payload: unknown, conversationId: string, mandatory: boolean): Promise<void>
  sendCommandNow(
    command: string,
    payload: unknown,
    conversationId: string,
    options: { replyTo: string; correlationId?: string; mandatory?: boolean },
  ): Promise<void>
  sendResult(destination: string, payload: unknown, status: ResultStatus, options: ReturnResultOptions): Promise<void>
  log(level: LevelName | number, short: string, options?: LogOptions): void
  /** True when the connection that delivered `delivery` is gone (its tag can no longer be acked). */
  connectionGone(delivery: Delivery): boolean
  /** The failing-handler policy: requeue once, then dead-letter. */
  fail(delivery: Delivery, conversationId: string, error: unknown, record: InputRecord | undefined): void
}

class HandlingContext<M extends ServiceMessages> implements CommandContext<M>, BatchMember {
  readonly kind: MessageKind
  readonly routingKey: string
  readonly exchange: string
  readonly conversationId: string
  readonly correlationId: string
  readonly replyTo: string
  readonly status: string
  readonly redelivered: boolean
  readonly headers: Readonly<Record<string, unknown>>
  readonly publishes: Promise<void>[] = []
  manual = false

  constructor(
    private readonly service: ServiceInternals,
    readonly delivery: Delivery,
    envelope: Envelope,
    routingKey: string,
    private readonly record: InputRecord | undefined,
    private readonly redeliverable: boolean,
  ) {
    this.kind = envelope.kind
    this.routingKey = routingKey
    this.exchange = delivery.exchange
    this.conversationId = envelope.conversationId
    this.correlationId = envelope.correlationId
    this.replyTo = envelope.replyTo
    this.status = envelope.status
    this.redelivered = delivery.redelivered
    this.headers = envelope.headers
  }

  get deliveryCount(): number | undefined {
    return deliveryCount(this.delivery)
  }

  get raw(): RawBody {
    const contentType = this.delivery.properties.contentType
    return rawBody(this.delivery.body, typeof contentType === 'string' ? contentType : '')
  }

  publishEvent<K extends keyof M['events'] & string>(
    name: K,
    payload: M['events'][K] | RawBody,
    options: PublishEventOptions = {},
  ): Promise<void> {
    if (this.gone()) return this.refused()
    return this.track(
      this.service.sendEvent(name, payload, options.conversationId ?? this.conversationId, options.mandatory ?? false),
    )
  }

  sendCommand<K extends keyof M['commands'] & string>(
    command: K,
    payload: M['commands'][K] | RawBody,
    options: SendCommandOptions,
  ): Promise<void> {
    if (this.gone()) return this.refused()
    return this.track(
      this.service.sendCommandNow(command, payload, options.conversationId ?? this.conversationId, options),
    )
  }

  returnSuccess(payload: unknown): Promise<void> {
    return this.reply(payload, 'success')
  }

  returnError(payload: unknown): Promise<void> {
    return this.reply(payload, 'error')
  }

  log(level: LevelName | number, short: string, options: LogOptions = {}): void {
    this.service.log(level, short, { conversationId: this.conversationId, ...options })
  }

  takeAck(): ManualAck {
    this.manual = true
    return {
      ack: async () => {
        await Promise.allSettled(this.publishes)
        ack(this.delivery, this.record)
      },
      nack: (requeue = false) => {
        nack(this.delivery, requeue, this.record)
      },
    }
  }

  /** @internal */
  ackNow(): void {
    ack(this.delivery, this.record)
  }

  /** @internal */
  nackNow(requeue: boolean): void {
    nack(this.delivery, requeue, this.record)
  }

  /** @internal */
  failNow(error: unknown, byHandler: boolean): void {
    if (byHandler && this.record !== undefined) this.record.handlerErrors += 1
    this.service.fail(this.delivery, this.conversationId, error, this.record)
  }

  /** @internal */
  isConnectionLost(): boolean {
    return this.gone()
  }

  private reply(payload: unknown, status: ResultStatus): Promise<void> {
    if (this.kind !== 'command' || !this.replyTo) {
      return Promise.reject(
        new ServiceError('SERVICE_STATE', `cannot return a result for ${this.routingKey}: it is not a command`),
      )
    }
    if (this.gone()) return this.refused()
    return this.track(
      this.service.sendResult(this.replyTo, payload, status, {
        conversationId: this.conversationId,
        correlationId: this.correlationId,
      }),
    )
  }

  /** True when this delivery's connection is gone: it will be redelivered, so its outputs must not go out. */
  private gone(): boolean {
    return this.redeliverable && !this.delivery.settled && this.service.connectionGone(this.delivery)
  }

  private refused(): Promise<void> {
    return this.track(
      Promise.reject(
        new PublishError(
          'PUBLISH_CHANNEL_CLOSED',
          `not sent: the connection that delivered ${this.routingKey} is gone, and its redelivery will send it again`,
        ),
      ),
    )
  }

  private track(promise: Promise<void>): Promise<void> {
    promise.catch(noop)
    this.publishes.push(promise)
    return promise
  }
}

function portFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ServiceError('SERVICE_INVALID', `AM_HEALTH_PORT must be a port number, got '${value}'`)
  }
  return port
}

function deliveryCount(delivery: Delivery): number | undefined {
  const count = delivery.headers['x-delivery-count']
  return typeof count === 'number' ? count : undefined
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Waits for `work`, at most `ms`; the timer never outlives the wait (it would keep the process up). */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  await Promise.race([work, timeout])
  clearTimeout(timer)
}

// Signals: installed once per process for all running services ------------------------------------

const trapped = new Set<Service<ServiceMessages>>()
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const
let signalled = false

function onSignal(signal: NodeJS.Signals): void {
  if (signalled) {
    // A second signal: stop waiting, let the default behaviour end the process.
    for (const s of SIGNALS) process.removeListener(s, onSignal)
    process.kill(process.pid, signal)
    return
  }
  signalled = true
  for (const service of trapped) void service.stop()
}

function trapSignals(service: Service<ServiceMessages>): void {
  if (trapped.size === 0) for (const s of SIGNALS) process.on(s, onSignal)
  trapped.add(service)
}

function untrapSignals(service: Service<ServiceMessages>): void {
  if (!trapped.delete(service) || trapped.size > 0) return
  for (const s of SIGNALS) process.removeListener(s, onSignal)
  signalled = false
}
