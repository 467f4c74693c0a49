import { EventEmitter } from 'node:events'
import {
  type Consumer,
  defaultConnectionName,
  eventailTopology,
  mergeTopologies,
  type SupervisorLike,
} from '@am/bus-core'
import { JSON_CONTENT_TYPE } from '@am/codec'
import { BusLog } from './bus-log.js'
import type { PublishEventOptions, SendCommandOptions } from './context.js'
import { type AsyncApiDocument, type DescribeOptions, describeService } from './describe.js'
import { Dispatcher } from './dispatch.js'
import { ServiceError } from './errors.js'
import { gelf, type LevelName, type LogOptions } from './gelf.js'
import type {
  CommandsOf,
  ConfigurationsOf,
  EventsOf,
  Handlers,
  Outcome,
  Publications,
  ServiceMessages,
  UntypedMessages,
} from './handler-table.js'
import { readPublications } from './handler-table.js'
import { type HealthMembership, joinHealthServer } from './health.js'
import { BUCKET_BOUNDS, Metrics, type ServiceStats } from './metrics.js'
import { healthPortOf, type ResolvedOptions, resolveOptions, type ServiceOptions } from './options.js'
import { Outputs, type Returned, type ReturnResultOptions, type Sent, untilConfirmed } from './outputs.js'
import type { RawBody } from './raw.js'
import { type RequestOptions, Requests } from './requests.js'
import { Retry } from './retry.js'
import { trapSignals, untrapSignals } from './signals.js'
import { Timers, within } from './timers.js'
import { loadTracing } from './tracing.js'

/** Where a service is in its life. */
export type ServiceState = 'idle' | 'starting' | 'unconfigured' | 'ready' | 'reconnecting' | 'stopping' | 'stopped'

/** Events of a service. */
export interface ServiceEvents {
  state: [state: ServiceState]
}

const noop = (): void => {}

/**
 * The base class of a service. Subclass it, name the logical service, return the handler table,
 * and call `start()`; the framework connects, declares the topology, consumes, acks after the
 * outputs are confirmed, retries, dead-letters, logs to the bus and stops gracefully.
 *
 * This file is the lifecycle (start, sessions, configuration, stop); the delivery path is
 * `dispatch.ts` → `context.ts` → `outputs.ts` → `settlement.ts`.
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

  readonly #options: ResolvedOptions
  #bus: SupervisorLike | undefined
  #currentState: ServiceState = 'idle'
  readonly #metrics: Metrics | undefined
  readonly #outputs: Outputs
  readonly #timers: Timers
  /** Made at start, when the name is known. */
  #busLog: BusLog | undefined
  #dispatch: Dispatcher | undefined
  #requests: Requests | undefined
  #business: Consumer[] = []
  #configConsumer: Consumer | undefined
  #configured = false
  #sessionGeneration = 0
  #stopping: Promise<void> | undefined
  #started: Promise<void> | undefined
  readonly #stoppedPromise: Promise<void>
  #resolveStopped: () => void = noop
  #booted = false
  #health: HealthMembership | undefined

  constructor(options: ServiceOptions) {
    super()
    this.#options = resolveOptions(options)
    this.#metrics = this.#options.metrics ? new Metrics() : undefined
    this.#outputs = new Outputs({
      options: this.#options,
      metrics: this.#metrics,
      handleReturned: (returned) => this.handleReturnedMessage(returned),
    })
    this.#timers = new Timers((error) =>
      this.log('ALERT', 'Unhandled error in a timer', { full: error.stack ?? String(error) }),
    )
    this.#stoppedPromise = new Promise((resolve) => {
      this.#resolveStopped = resolve
    })
  }

  /** The handler table; its keys are the subscriptions. Called once, at start. */
  protected abstract handlers(): Handlers<M>

  /**
   * What the service publishes, by kind and routing key: a schema, or `true` (no schema). Optional;
   * it completes `describe()`, and the options `validateOutputs` and `strictPublications` use it.
   * Called once, at start (and by `describe()`).
   * @example
   * protected override publishes(): Publications<Messages> {
   *   return { events: { 'welcome.Sent': WelcomeSent }, commands: { 'mailer.Send': true } }
   * }
   */
  protected publishes(): Publications<M> | undefined {
    return undefined
  }

  /**
   * The AsyncAPI 3.0 document of this service, from its handler table, its schemas and its
   * declared publications (`publishes()`); nothing is connected. `am-describe` prints it.
   */
  describe(options: DescribeOptions = {}): AsyncApiDocument {
    return describeService(
      {
        name: this.name,
        handlers: this.handlers() as Handlers<never>,
        publishes: this.publishes() as Publications<never> | undefined,
        contentType: this.#options.contentType,
        exclusiveQueues: this.#options.exclusiveQueues,
        queueType: this.#options.queueType,
      },
      options,
    )
  }

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
        inFlight: this.#dispatch?.inFlight ?? 0,
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
    this.#options.contentType = JSON_CONTENT_TYPE
    return this
  }

  /** Uses exclusive server-named queues (debug tools); call before `start()`. */
  useExclusiveQueues(): this {
    this.#options.exclusiveQueues = true
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
   * handlers finish (bounded), waits for the confirms, closes. Idempotent. Rejects when the close
   * fails, after the service is stopped all the same.
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
  publishEvent<K extends keyof EventsOf<M> & string>(
    name: K,
    payload: EventsOf<M>[K] | RawBody,
    options: PublishEventOptions & { conversationId: string },
  ): Promise<void> {
    return this.#loose(this.#outputs.event(name, payload, options.conversationId, options.mandatory ?? false))
  }

  /** Sends a command (exchange `commands`, routing key `<service>.<Command>`). */
  sendCommand<K extends keyof CommandsOf<M> & string>(
    command: K,
    payload: CommandsOf<M>[K] | RawBody,
    options: SendCommandOptions & { conversationId: string },
  ): Promise<void> {
    return this.#loose(this.#outputs.command(command, payload, options.conversationId, options))
  }

  /** Publishes a success result to `destination` (a command's reply-to). */
  returnSuccess(destination: string, payload: unknown, options: ReturnResultOptions): Promise<void> {
    return this.#loose(this.#outputs.result(destination, payload, 'success', options))
  }

  /** Publishes an expected-error result to `destination` (a command's reply-to). */
  returnError(destination: string, payload: unknown, options: ReturnResultOptions): Promise<void> {
    return this.#loose(this.#outputs.result(destination, payload, 'error', options))
  }

  /** Publishes a configuration message (exchange `configurations`, not mandatory). */
  publishConfiguration<K extends keyof ConfigurationsOf<M> & string>(
    name: K,
    payload: ConfigurationsOf<M>[K] | RawBody,
  ): Promise<void> {
    return this.#loose(this.#outputs.configuration(name, payload))
  }

  /**
   * Sends a command and resolves with its success result's payload, matched by correlation id on a
   * private reply queue. Rejects with a `RequestError`: `REQUEST_FAILED` (error result),
   * `REQUEST_TIMEOUT`, `REQUEST_UNROUTABLE`. Results published while this instance was disconnected
   * are lost with its exclusive reply queue: the request then times out.
   */
  async request<K extends keyof CommandsOf<M> & string>(
    command: K,
    payload: CommandsOf<M>[K] | RawBody,
    options: RequestOptions,
  ): Promise<unknown> {
    const requests = this.#requests
    if (!requests) throw new ServiceError('SERVICE_STATE', 'start the service before sending requests')
    return requests.request(command, payload, options)
  }

  /** Logs to the bus (GELF on `logs`, routing key `<service>.<LEVEL>`); never throws for the bus. */
  log(level: LevelName | number, short: string, options: LogOptions = {}): void {
    if (this.#busLog) this.#busLog.log(level, short, options)
    // Not started: nothing is sent, but a wrong level still throws.
    else gelf(this.name, level, short, options)
  }

  /** Runs `callback` after `delayMs`; errors are logged (ALERT), never fatal. Cleared by `stop()`. */
  callLater(delayMs: number, callback: () => unknown): NodeJS.Timeout {
    return this.#timers.add(delayMs, callback)
  }

  /** Cancels a `callLater` timer. */
  cancelTimer(timer: NodeJS.Timeout): void {
    this.#timers.cancel(timer)
  }

  /** A publish through the service: messages in flight wait for it too (eventail's global rule). */
  #loose(sent: Promise<Sent>): Promise<void> {
    this.#dispatch?.trackLoose(sent)
    return untilConfirmed(sent)
  }

  // Lifecycle -------------------------------------------------------------------------------------

  #setState(state: ServiceState): void {
    if (this.#currentState === state) return
    this.#currentState = state
    this.emit('state', state)
  }

  async #boot(): Promise<void> {
    if (this.#stopping) return
    const handlers = this.handlers()
    if (!this.name || /[#*\s]/.test(this.name)) {
      throw new ServiceError('SERVICE_INVALID', `invalid service name '${this.name}': name the logical service`)
    }
    const options = this.#options
    const busLog = new BusLog(this.name, options.logger)
    const dispatch = new Dispatcher({
      service: this.name,
      handlers: handlers as Handlers<never>,
      prefetch: options.prefetch,
      exclusiveQueues: options.exclusiveQueues,
      outputs: this.#outputs,
      busLog,
      metrics: this.#metrics,
      logger: options.logger,
      configured: () =>
        void this.#configuredNow().catch((error: Error) =>
          options.logger?.error(`starting consumers failed: ${error.message}`),
        ),
    })
    this.#busLog = busLog
    this.#dispatch = dispatch
    this.#outputs.guard(readPublications(this.name, this.publishes() as Publications<never> | undefined), {
      validate: options.validateOutputs,
      strict: options.strictPublications,
    })
    const { tables } = dispatch
    const base = eventailTopology({
      service: this.name,
      events: tables.events.keys,
      commands: [...tables.commands.keys, ...tables.results.keys],
      configurations: tables.configurations.keys,
      exclusive: options.exclusiveQueues,
      queueType: options.queueType,
    })
    const retry = Retry.create(this.name, options.retry, tables, options)
    dispatch.retry = retry
    const topology = retry ? mergeTopologies(base, retry.topology) : base
    this.#setState('starting')
    const healthPort = healthPortOf(options, process.env.AM_HEALTH_PORT)
    if (healthPort !== undefined) {
      try {
        this.#health = await joinHealthServer(this, healthPort, { processMetrics: options.processMetrics })
      } catch (error) {
        throw new ServiceError(
          'SERVICE_INVALID',
          `cannot serve /healthz on port ${healthPort}: ${(error as Error).message}`,
          { cause: error },
        )
      }
    }
    if (options.handleSignals) trapSignals(this)
    // Loaded meanwhile: the supervisor is made synchronously by start() (@am/testing relies on it).
    const tracing = options.tracing ? loadTracing() : undefined
    const bus = options.supervisorFactory({
      connectionName: defaultConnectionName(this.name),
      ...options.supervisor,
      urls: options.urls,
      topology,
      logger: options.logger,
    })
    this.#bus = bus
    busLog.bus = bus
    if (retry) retry.bus = bus
    this.#outputs.attach(this.name, bus, busLog)
    this.#requests = new Requests(this.name, bus, this.#outputs, options.logger)
    bus.on('disconnected', ({ generation }) => {
      dispatch.connectionLost(generation)
      if (this.#stopping) return
      this.#setState('reconnecting')
      if (tables.configurations.size) {
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
      void this.#enterSession().catch((error: Error) => options.logger?.error(`session start failed: ${error.message}`))
    })
    if (tracing) {
      const loaded = await tracing
      dispatch.tracing = loaded
      this.#outputs.tracing = loaded
    }
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
    const dispatch = this.#dispatch
    if (!bus || !dispatch || this.#stopping) return
    if (dispatch.tables.configurations.size > 0) {
      this.#configConsumer ??= await bus.consume('configurations', (d) => dispatch.dispatch(d, 'configurations'), {
        prefetch: this.#options.prefetch,
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
    const dispatch = this.#dispatch
    if (!bus || !dispatch) return
    const { tables } = dispatch
    const prefetch = this.#options.prefetch
    if (tables.events.size > 0) {
      this.#business.push(await bus.consume('events', (d) => dispatch.dispatch(d, 'events'), { prefetch }))
    }
    if (tables.commands.size + tables.results.size > 0) {
      this.#business.push(await bus.consume('commands', (d) => dispatch.dispatch(d, 'commands'), { prefetch }))
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
    this.#timers.clear()
    const bus = this.#bus
    try {
      if (bus && previous !== 'idle') await this.#drain(bus)
    } finally {
      // Whatever the close did: nothing stays up, and `stopped` resolves.
      this.#outputs.stopped = true
      try {
        await this.#health?.leave()
      } finally {
        this.#health = undefined
        untrapSignals(this)
        this.#setState('stopped')
        this.#resolveStopped()
      }
    }
  }

  /** Cancels the consumers, lets the messages in flight end (bounded), then closes the supervisor. */
  async #drain(bus: SupervisorLike): Promise<void> {
    // One budget for the cancels and the handlers in flight, then the supervisor's own
    // (`closeTimeoutMs`): a hung broker costs stopTimeoutMs + closeTimeoutMs in all (20 s by default).
    const deadline = performance.now() + this.#options.stopTimeoutMs
    const left = (): number => Math.max(0, deadline - performance.now())
    if (bus.isConnected) this.log('WARNING', 'Shutting down…')
    const consumers = [...this.#business, ...(this.#configConsumer ? [this.#configConsumer] : [])]
    this.#business = []
    this.#configConsumer = undefined
    // A broker that stopped answering never confirms the cancels: bound the wait.
    await within(Promise.allSettled(consumers.map((c) => c.cancel())), left())
    const dispatch = this.#dispatch
    if (dispatch) {
      // Pending batches run now; they count as messages in flight, waited for below.
      for (const batched of dispatch.batches) void batched.flush()
      if (dispatch.inFlight > 0) await within(dispatch.idle(), left())
    }
    // Out of time: a publish waiting to be retried after a nack ends now, as nacked.
    this.#outputs.cancelRetries()
    this.#requests?.stop()
    await bus.close()
  }
}
