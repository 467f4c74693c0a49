// Over 500 lines on purpose: one class whose methods (publish, send a command, wait for outcomes,
// capture outputs, logs and dead letters of a conversation) share the capture state; half the file
// is the documented public types. The broker it drives is broker.ts.
import { randomUUID } from 'node:crypto'
import {
  type Delivery,
  deadLetterTopology,
  defineTopology,
  EXCHANGES,
  mergeTopologies,
  PublishError,
  type Supervisor,
  type SupervisorLike,
  type Topology,
} from '@am/bus-core'
import { CBOR, type ContentType, decode, encode, JSON_CONTENT_TYPE } from '@am/codec'
import {
  commandProperties,
  configurationProperties,
  DEAD_LETTERS,
  type DeathRecord,
  type Envelope,
  eventProperties,
  headerText,
  type LevelName,
  RETRY_HEADERS,
  readDeaths,
  TOOL_PREFETCH,
} from '@am/protocol'
import type { ServiceOptions } from '@am/service'
import { type BrokerMessage, createMemoryBroker, type DeadLetterReason, type MemoryBroker } from './broker.js'
import { FakeClock } from './clock.js'
import { TestingError } from './errors.js'
import { nextTurn, realNow, sleep } from './timers.js'
import type { MessageProperties } from './types.js'

/** One `x-death` entry (from `@am/protocol`). */
export type { DeathRecord }

/** Options of `createHarness` (and `startService`). */
export interface HarnessOptions {
  /**
   * The broker to use; by default a new one, closed with the harness.
   * @default createMemoryBroker()
   */
  broker?: MemoryBroker
  /**
   * Dead-lettering as `am-setup-dlx` sets it up: exchange `am-dlx`, queue `dead_letters` bound with
   * `#`, policy on `^.*\.(events|commands)$`. `false` leaves the broker without (rejected messages
   * are then discarded, as on a broker without the policy).
   * @default true
   */
  deadLetters?: boolean | { exchange?: string; queue?: string; pattern?: string }
  /**
   * Installs the harness's `FakeClock` on the global timers for the harness's lifetime:
   * `callLater` timers (and the service's retry delays and request timeouts) then wait for
   * `h.clock.advance(ms)`.
   * @default false
   */
  fakeTime?: boolean
  /**
   * How long the helpers (`sendCommand`, `publishEvent`, `waitFor`…) wait, in real ms.
   * @default 5000
   */
  timeoutMs?: number
  /**
   * The harness publishes JSON instead of CBOR.
   * @default false
   */
  json?: boolean
}

/**
 * A message published on the bus, with its payload decoded; `correlationId` and `replyTo` as in an
 * envelope (`''` when absent).
 */
export interface CapturedMessage extends Pick<Envelope, 'correlationId' | 'replyTo'> {
  kind: 'event' | 'command' | 'result' | 'configuration' | 'log' | 'other'
  exchange: string
  routingKey: string
  /** The decoded body (`@am/codec`; GELF JSON for logs); undefined when it does not decode. */
  payload: unknown
  /** The `conversation_id` header (logs: `_conversation_id`); `''` when absent. */
  conversationId: string
  /** A result's `status` header; `''` for other kinds. */
  status: string
  /** All its headers. */
  headers: Record<string, unknown>
  properties: MessageProperties
  body: Buffer
  mandatory: boolean
  /** The connection name of the publisher (a service's is `<name>@<host>:<pid>`). */
  publisher: string
  /** The queues it reached (none: unroutable). */
  queues: string[]
}

/** A GELF log record published by a service. */
export interface CapturedLog {
  /** The logical service (the routing key's first part). */
  service: string
  /** The level name (the routing key's last part). */
  level: LevelName
  shortMessage: string
  fullMessage: string
  conversationId: string
  /** The whole GELF record as sent. */
  record: Record<string, unknown>
}

/** A message that reached a dead-letter exchange. */
export interface DeadLetter {
  /** The queue it died in. */
  queue: string
  reason: DeadLetterReason
  /** Its routing key (the original one, unless the queue sets a dead-letter routing key). */
  routingKey: string
  /** The dead-letter exchange. */
  exchange: string
  payload: unknown
  conversationId: string
  headers: Record<string, unknown>
  properties: MessageProperties
  body: Buffer
  /** `x-death`, newest first. */
  deaths: DeathRecord[]
}

/** What a service published for one conversation. */
export interface ConversationOutputs {
  conversationId: string
  events: CapturedMessage[]
  commands: CapturedMessage[]
  results: CapturedMessage[]
  configurations: CapturedMessage[]
  logs: CapturedLog[]
  deadLetters: DeadLetter[]
}

/** How a message the harness published ended. */
export type DeliveryOutcome =
  /** acked by every consumer that got it */
  | 'acked'
  /** rejected into a dead-letter exchange (at least one copy) */
  | 'dead-lettered'
  /** rejected without a dead-letter exchange */
  | 'discarded'
  /** reached no queue */
  | 'unroutable'
  /** waits in a queue that nobody consumes (a service not configured yet, say) */
  | 'queued'
  /**
   * its handler failed and a copy waits in a wait queue for a delayed retry (`retry` option of
   * the service): advance the fake clock (or wait) to see the next attempt
   */
  | 'retrying'

/** What `publishEvent` and `publishConfiguration` resolve with. */
export interface PublishResult extends ConversationOutputs {
  outcome: DeliveryOutcome
}

/** A result received for `sendCommand`. */
export interface CommandResult {
  /** `success`, `error`, or what the service sent. */
  status: string
  payload: unknown
  /** Headers other than `status` and `conversation_id`. */
  headers: Record<string, unknown>
  correlationId: string
  conversationId: string
  /** Everything published in the conversation meanwhile (the result included). */
  outputs: ConversationOutputs
}

/** Options of `sendCommand`. */
export interface HarnessCommandOptions {
  /** @default a new UUID */
  conversationId?: string
  /** Wait this long for the result, in real ms. @default the harness's `timeoutMs` */
  timeoutMs?: number
}

/** Options of `publishEvent` / `publishConfiguration`. */
export interface HarnessPublishOptions {
  /** @default a new UUID (events); configurations have none */
  conversationId?: string
  /** @default the harness's `timeoutMs` */
  timeoutMs?: number
}

/** What the harness needs of a service. */
export interface StartableService {
  readonly name: string
  start(): Promise<void>
  stop(): Promise<void>
  readonly supervisor: SupervisorLike | undefined
}

/** A service class whose constructor takes `ServiceOptions` (or a subtype). */
export type ServiceClass<S extends StartableService, O extends ServiceOptions> = new (options: O) => S

/** Options a service class is started with by the harness: its own, minus the transport. */
export type ServiceOverrides<O extends ServiceOptions> = Omit<O, 'urls' | 'supervisorFactory'> & { urls?: never }

/**
 * A memory broker, the services under test and a client to talk to them, with what was published,
 * logged and dead-lettered; disposable. Create it with `createHarness` or `startService`.
 */
export class Harness {
  /** The broker under the services. */
  readonly broker: MemoryBroker
  /** Fake time for the services' timers (installed with `{ fakeTime: true }`). */
  readonly clock: FakeClock
  /** Every message published by anyone (dead letters excepted), in order. */
  readonly published: CapturedMessage[] = []
  /** Every log published, parsed. */
  readonly logs: CapturedLog[] = []
  /**
   * Every message dead-lettered, with its `x-death`; not the messages a wait queue sends back to
   * their service when their delay is over (expired into the default exchange).
   */
  readonly deadLetters: DeadLetter[] = []
  readonly #options: HarnessOptions
  readonly #ownBroker: boolean
  readonly #services: StartableService[] = []
  readonly #fates = new Map<number, string[]>()
  /** The later copies of a message (by its body, shared by reference): delayed-retry copies and their returns. */
  readonly #retries = new WeakMap<Buffer, number[]>()
  readonly #replyKey = `am-testing.reply-${randomUUID().slice(0, 8)}`
  readonly #results = new Map<string, (delivery: Delivery) => void>()
  readonly #name = `am-testing-harness-${randomUUID().slice(0, 8)}`
  readonly #detach: () => void
  #client: Promise<Supervisor> | undefined
  #closing: Promise<void> | undefined

  /** @internal use `createHarness` */
  constructor(options: HarnessOptions = {}) {
    this.#options = options
    this.#ownBroker = options.broker === undefined
    this.broker = options.broker ?? createMemoryBroker()
    this.clock = new FakeClock(() => this.idle())
    const onPublished = (message: BrokerMessage): void => {
      if (message.origin === 'published') this.#capture(message)
      if (isRetryCopy(message)) {
        const list = this.#retries.get(message.body) ?? []
        list.push(message.id)
        this.#retries.set(message.body, list)
      }
    }
    const fate =
      (kind: string) =>
      ({ id }: { id: number }): void => {
        const list = this.#fates.get(id) ?? []
        list.push(kind)
        this.#fates.set(id, list)
      }
    const onAcked = fate('acked')
    const onDiscarded = fate('discarded')
    const onDeadLettered = (info: {
      id: number
      queue: string
      reason: DeadLetterReason
      message: BrokerMessage
    }): void => {
      if (info.reason === 'expired' && info.message.exchange === '') {
        fate('delayed')(info)
        return
      }
      fate('dead-lettered')(info)
      this.deadLetters.push(toDeadLetter(info.queue, info.reason, info.message))
    }
    this.broker.on('published', onPublished)
    this.broker.on('acked', onAcked)
    this.broker.on('discarded', onDiscarded)
    this.broker.on('deadLettered', onDeadLettered)
    this.#detach = () => {
      this.broker.off('published', onPublished)
      this.broker.off('acked', onAcked)
      this.broker.off('discarded', onDiscarded)
      this.broker.off('deadLettered', onDeadLettered)
    }
    if (options.fakeTime) this.clock.install()
  }

  /** The services started by this harness. */
  get services(): readonly StartableService[] {
    return this.#services
  }

  /**
   * Options for a service built by hand, then given to `start(instance)`: the memory transport,
   * no signal handlers, a short stop timeout.
   */
  serviceOptions<O extends Partial<ServiceOptions>>(extra?: O): ServiceOptions & O {
    return {
      urls: this.broker.url,
      handleSignals: false,
      stopTimeoutMs: 2_000,
      ...(extra as O),
      supervisorFactory: this.broker.supervisorFactory(),
    }
  }

  /**
   * Starts a service on the memory broker and resolves once it is ready (or unconfigured). Give a
   * class (constructed with `serviceOptions(options)`) or an instance built with `serviceOptions()`.
   * It is stopped when the harness closes.
   */
  async start<S extends StartableService, O extends ServiceOptions = ServiceOptions>(
    service: S | ServiceClass<S, O>,
    options?: ServiceOverrides<O>,
  ): Promise<S> {
    await this.#ready()
    const instance =
      typeof service === 'function'
        ? new service(this.serviceOptions(options as unknown as Partial<ServiceOptions>) as unknown as O)
        : service
    const starting = instance.start()
    // The supervisor is made synchronously by start(): refuse one bound to a real broker at once.
    if (instance.supervisor !== undefined && !this.broker.isMemorySupervisor(instance.supervisor)) {
      starting.catch(() => undefined)
      await instance.stop()
      throw new TestingError(
        'HARNESS_NOT_MEMORY',
        `${instance.name} was not built with harness.serviceOptions(): it would connect to a real broker`,
      )
    }
    this.#services.push(instance)
    await starting
    await this.idle()
    return instance
  }

  /**
   * Sends a command as a peer would (mandatory, in a new conversation, reply-to a private key of
   * the harness) and resolves with its result once the command is settled. Rejects with
   * `COMMAND_UNROUTABLE` when no queue takes it, `HARNESS_TIMEOUT` when no result comes.
   * @example
   * const { status, payload } = await h.sendCommand('pong.Echo', { message: 'hi' })
   */
  async sendCommand(command: string, payload: unknown, options: HarnessCommandOptions = {}): Promise<CommandResult> {
    const client = await this.#ready()
    const conversationId = options.conversationId ?? randomUUID()
    const correlationId = randomUUID()
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs
    const reply = new Promise<Delivery>((resolve) => this.#results.set(correlationId, resolve))
    const body = encode(payload, this.#contentType)
    const id = this.#track(body)
    try {
      await client.publish(EXCHANGES.commands, command, body, {
        ...commandProperties(conversationId, this.#replyKey, correlationId, this.#contentType),
        mandatory: true,
      })
    } catch (error) {
      this.#results.delete(correlationId)
      if (error instanceof PublishError && error.code === 'PUBLISH_RETURNED') {
        throw new TestingError(
          'COMMAND_UNROUTABLE',
          `nobody consumes ${command}: start the service that serves it (its queue binds the command key)`,
          { cause: error },
        )
      }
      throw error
    }
    const delivery = await this.#within(reply, timeoutMs, () => {
      this.#results.delete(correlationId)
      return `no result for ${command} within ${timeoutMs} ms${this.#describe(conversationId)}`
    })
    await this.#settled(await id, timeoutMs, body)
    const headers = { ...delivery.headers }
    const status = text(headers.status)
    delete headers.status
    delete headers.conversation_id
    return {
      status,
      payload: decodeBody(delivery.body, delivery.properties.contentType),
      headers,
      correlationId,
      conversationId,
      outputs: this.conversation(conversationId),
    }
  }

  /**
   * Publishes an event as a peer would (in a new conversation unless given) and resolves once it is
   * settled — acked by every consumer, dead-lettered, discarded, or waiting where nobody consumes —
   * with what was published in its conversation meanwhile.
   * @example
   * const { outcome, events } = await h.publishEvent('OrderPlaced', { orderId: 'A-1', total: 10 })
   */
  async publishEvent(name: string, payload: unknown, options: HarnessPublishOptions = {}): Promise<PublishResult> {
    const conversationId = options.conversationId ?? randomUUID()
    return this.#publishAndSettle(
      EXCHANGES.events,
      name,
      payload,
      eventProperties(conversationId, this.#contentType),
      conversationId,
      options.timeoutMs,
    )
  }

  /** Publishes a configuration message (as `am-publish-configuration`) and resolves once it is settled. */
  async publishConfiguration(
    name: string,
    payload: unknown,
    options: HarnessPublishOptions = {},
  ): Promise<PublishResult> {
    return this.#publishAndSettle(
      EXCHANGES.configurations,
      name,
      payload,
      configurationProperties(this.#contentType),
      options.conversationId ?? '',
      options.timeoutMs,
    )
  }

  /** What was published, logged and dead-lettered in a conversation so far (the harness's own messages excepted). */
  conversation(conversationId: string): ConversationOutputs {
    const mine = this.published.filter((m) => m.conversationId === conversationId && m.publisher !== this.#name)
    return {
      conversationId,
      events: mine.filter((m) => m.kind === 'event'),
      commands: mine.filter((m) => m.kind === 'command'),
      results: mine.filter((m) => m.kind === 'result'),
      configurations: mine.filter((m) => m.kind === 'configuration'),
      logs: this.logs.filter((l) => l.conversationId === conversationId),
      deadLetters: this.deadLetters.filter((d) => d.conversationId === conversationId),
    }
  }

  /** Resolves once the bus is quiet (see `MemoryBroker.idle`). */
  async idle(): Promise<void> {
    await this.broker.idle({ timeoutMs: this.#timeoutMs })
  }

  /** Resolves with the first truthy value of `check`, polled as the bus moves; rejects after the timeout. */
  async waitFor<T>(
    check: () => T | Promise<T>,
    options: { timeoutMs?: number; message?: string } = {},
  ): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs
    const deadline = realNow() + timeoutMs
    for (;;) {
      const value = await check()
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>
      if (realNow() > deadline) {
        throw new TestingError(
          'HARNESS_TIMEOUT',
          `timed out after ${timeoutMs} ms waiting for ${options.message ?? 'a condition'}`,
        )
      }
      await sleep(2)
    }
  }

  /**
   * Stops the services (in reverse order), the harness's client, and the broker when the harness
   * made it; puts the real timers back first (pending fake timers never fire). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  // ---------------------------------------------------------------------------------------------

  get #timeoutMs(): number {
    return this.#options.timeoutMs ?? 5_000
  }

  get #contentType(): ContentType {
    return this.#options.json ? JSON_CONTENT_TYPE : CBOR
  }

  async #shutdown(): Promise<void> {
    this.clock.uninstall()
    for (const service of [...this.#services].reverse()) await service.stop().catch(() => undefined)
    if (this.#client) await (await this.#client.catch(() => undefined))?.close()
    this.#detach()
    if (this.#ownBroker) await this.broker.close()
  }

  /** The harness's own connection: the eventail exchanges, dead-lettering, a private reply queue. */
  #ready(): Promise<Supervisor> {
    if (this.#closing) return Promise.reject(new TestingError('HARNESS_STATE', 'the harness is closed'))
    this.#client ??= (async () => {
      const topologies: Topology[] = [
        defineTopology({
          exchanges: [
            { name: EXCHANGES.events, type: 'topic' },
            { name: EXCHANGES.commands, type: 'topic' },
            { name: EXCHANGES.configurations, type: 'topic' },
            { name: EXCHANGES.logs, type: 'topic', channel: 'log' },
          ],
          queues: [{ key: 'replies', name: '' }],
          bindings: [{ queue: 'replies', exchange: EXCHANGES.commands, routingKey: this.#replyKey }],
        }),
      ]
      const dl = this.#options.deadLetters ?? true
      if (dl !== false) {
        const settings = dl === true ? {} : dl
        const exchange = settings.exchange ?? DEAD_LETTERS.exchange
        topologies.push(deadLetterTopology({ exchange, queue: settings.queue ?? DEAD_LETTERS.queue }))
        this.broker.setPolicy({
          name: DEAD_LETTERS.policyName,
          pattern: settings.pattern ?? DEAD_LETTERS.pattern,
          deadLetterExchange: exchange,
        })
      }
      const client = this.broker.createSupervisor({
        connectionName: this.#name,
        topology: mergeTopologies(...topologies),
      })
      await client.ready()
      await client.consume(
        'replies',
        (delivery) => {
          delivery.ack()
          const correlationId = text(delivery.properties.correlationId)
          const waiter = this.#results.get(correlationId)
          if (!waiter) return
          this.#results.delete(correlationId)
          waiter(delivery)
        },
        { prefetch: TOOL_PREFETCH },
      )
      return client
    })()
    return this.#client
  }

  async #publishAndSettle(
    exchange: string,
    routingKey: string,
    payload: unknown,
    properties: ReturnType<typeof eventProperties>,
    conversationId: string,
    timeout: number | undefined,
  ): Promise<PublishResult> {
    const client = await this.#ready()
    const timeoutMs = timeout ?? this.#timeoutMs
    const body = encode(payload, this.#contentType)
    const id = this.#track(body)
    await client.publish(exchange, routingKey, body, properties)
    const outcome = await this.#settled(await id, timeoutMs, body)
    await this.idle()
    return { outcome, ...this.conversation(conversationId) }
  }

  /** The broker id of the next message the harness publishes with this very body. */
  #track(body: Buffer): Promise<number> {
    return new Promise((resolve) => {
      const listener = (message: BrokerMessage): void => {
        if (message.body !== body) return
        this.broker.off('published', listener)
        resolve(message.id)
      }
      this.broker.on('published', listener)
    })
  }

  /**
   * Waits until no copy of message `id` (nor of its delayed-retry copies, which share its `body`)
   * waits in a consumed queue; tells how it ended.
   */
  async #settled(id: number, timeoutMs: number, body?: Buffer): Promise<DeliveryOutcome> {
    const deadline = realNow() + timeoutMs
    for (;;) {
      const ids = [id, ...((body && this.#retries.get(body)) || [])]
      const copies = ids.flatMap((one) => this.broker.copies(one))
      // Decided only while nothing is scheduled: a reconnecting consumer is not "nobody".
      if (!this.broker.busy && copies.every((c) => !c.consumed && !c.unacked)) {
        const fates = ids.flatMap((one) => this.#fates.get(one) ?? [])
        if (fates.includes('dead-lettered')) return 'dead-lettered'
        if (fates.includes('discarded')) return 'discarded'
        if (copies.some((c) => this.#isWaitQueue(c.queue))) return 'retrying'
        if (copies.length > 0) return 'queued'
        if (fates.includes('acked')) return 'acked'
        return 'unroutable'
      }
      if (realNow() > deadline) {
        throw new TestingError(
          'HARNESS_TIMEOUT',
          `message #${id} is still unsettled after ${timeoutMs} ms (in ${copies.map((c) => `${c.queue}${c.unacked ? ' unacked' : ''}`).join(', ')})`,
        )
      }
      await nextTurn()
    }
  }

  /** A queue whose messages go back through the default exchange when their TTL runs out. */
  #isWaitQueue(name: string): boolean {
    const queue = this.broker.queue(name)
    return queue?.arguments['x-message-ttl'] !== undefined && queue.deadLetterExchange === ''
  }

  async #within<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
    let timer: (() => void) | undefined
    const timeout = new Promise<never>((_, reject) => {
      const cancel = this.broker.later(() => reject(new TestingError('HARNESS_TIMEOUT', message())), ms)
      timer = cancel
    })
    timeout.catch(() => undefined)
    try {
      return await Promise.race([work, timeout])
    } finally {
      timer?.()
    }
  }

  /** A hint for timeouts: the logs of the conversation. */
  #describe(conversationId: string): string {
    const logs = this.logs.filter((l) => l.conversationId === conversationId)
    return logs.length === 0 ? '' : `; logs: ${logs.map((l) => `${l.level} ${l.shortMessage}`).join(' | ')}`
  }

  #capture(message: BrokerMessage): void {
    const headers = (message.properties.headers ?? {}) as Record<string, unknown>
    const correlationId = text(message.properties.correlationId)
    const replyTo = text(message.properties.replyTo)
    const base = {
      exchange: message.exchange,
      routingKey: message.routingKey,
      correlationId,
      replyTo,
      headers,
      properties: message.properties,
      body: message.body,
      mandatory: message.mandatory,
      publisher: message.publisher,
      queues: message.queues,
    }
    if (message.exchange === EXCHANGES.logs) {
      const record = parseGelf(message.body)
      const parts = message.routingKey.split('.')
      const captured: CapturedMessage = {
        ...base,
        kind: 'log',
        payload: record,
        conversationId: text(record?._conversation_id),
        status: '',
      }
      this.published.push(captured)
      if (record) {
        this.logs.push({
          service: parts.slice(0, -1).join('.'),
          level: (parts[parts.length - 1] ?? '') as LevelName,
          shortMessage: text(record.short_message),
          fullMessage: text(record.full_message),
          conversationId: text(record._conversation_id),
          record,
        })
      }
      return
    }
    const status = text(headers.status)
    let kind: CapturedMessage['kind'] = 'other'
    if (message.exchange === EXCHANGES.events) kind = 'event'
    else if (message.exchange === EXCHANGES.configurations) kind = 'configuration'
    else if (message.exchange === EXCHANGES.commands) kind = replyTo ? 'command' : status ? 'result' : 'other'
    this.published.push({
      ...base,
      kind,
      payload: decodeBody(message.body, message.properties.contentType),
      conversationId: text(headers.conversation_id),
      status: kind === 'result' || kind === 'command' ? status : '',
    })
  }
}

/** A copy of a failed message put in a wait queue by a service, or such a copy coming back. */
function isRetryCopy(message: BrokerMessage): boolean {
  if (message.origin === 'expired') return message.exchange === ''
  return message.origin === 'published' && message.properties.headers?.[RETRY_HEADERS.attempt] !== undefined
}

function toDeadLetter(queue: string, reason: DeadLetterReason, message: BrokerMessage): DeadLetter {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>
  return {
    queue,
    reason,
    routingKey: message.routingKey,
    exchange: message.exchange,
    payload: decodeBody(message.body, message.properties.contentType),
    conversationId: text(headers.conversation_id),
    headers,
    properties: message.properties,
    body: message.body,
    deaths: readDeaths(headers),
  }
}

function decodeBody(body: Buffer, contentType: unknown): unknown {
  if (body.length === 0) return null
  try {
    return decode(body, typeof contentType === 'string' ? contentType : undefined)
  } catch {
    return undefined
  }
}

function parseGelf(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function text(value: unknown): string {
  return headerText(value) ?? ''
}

/**
 * Creates a harness: a memory broker (or the one given), a client to send commands and events,
 * and what the services publish. Dispose it with `await using` (or `close()`).
 * @example
 * await using h = createHarness()
 * await h.start(Pong)
 * expect((await h.sendCommand('pong.Echo', { message: 'hi' })).payload).toEqual({ echo: 'hi' })
 */
export function createHarness(options: HarnessOptions = {}): Harness {
  return new Harness(options)
}

/** A harness started with one service, available as `service`. */
export type ServiceHarness<S extends StartableService> = Harness & { readonly service: S }

/**
 * Starts `Service` on a new harness: `options.service` are the service's own options.
 * @example
 * await using h = await startService(Relay)
 * const { events } = await h.publishEvent('OrderPlaced', { orderId: 'A-1', total: 10 })
 */
export async function startService<S extends StartableService, O extends ServiceOptions = ServiceOptions>(
  service: ServiceClass<S, O>,
  options: HarnessOptions & { service?: ServiceOverrides<O> } = {},
): Promise<ServiceHarness<S>> {
  const { service: serviceOptions, ...harnessOptions } = options
  const harness = createHarness(harnessOptions)
  try {
    const instance = await harness.start(service, serviceOptions)
    return Object.defineProperty(harness, 'service', { value: instance, enumerable: true }) as ServiceHarness<S>
  } catch (error) {
    await harness.close()
    throw error
  }
}
