import { randomUUID } from 'node:crypto'
import {
  createSupervisor,
  defaultConnectionName,
  EXCHANGES,
  eventailTopology,
  type Logger,
  type PublishOptions,
  type SupervisorLike,
  type SupervisorOptions,
} from '@am/bus-core'
import { CBOR, type ContentType, JSON_CONTENT_TYPE } from '@am/codec'
import { commandProperties, configurationProperties, DEFAULT_CLOSE_TIMEOUT_MS, eventProperties } from '@am/protocol'
import { ServiceError } from './errors.js'
import { gelf, type LevelName, type LogOptions } from './gelf.js'
import type { CommandsOf, ConfigurationsOf, EventsOf, ServiceMessages, UntypedMessages } from './handler-table.js'
import { outgoing, type RawBody } from './raw.js'
import { loadTracing, type Tracing } from './tracing.js'

/** Options of a publisher. */
export interface PublisherOptions {
  /** Broker URLs, tried round-robin. */
  urls: string | readonly string[]
  /**
   * The logical name of the program: logs go out as `<name>.<LEVEL>` with `_logical_service` set
   * to it, and the connection is named after it.
   */
  name: string
  /**
   * Send JSON instead of CBOR (eventail's `use_json()`).
   * @default false
   */
  json?: boolean
  /**
   * The longest `close()` waits for the connection when publishes wait to be sent, and then
   * (the supervisor's `closeTimeoutMs`) for their confirms and the broker's close-ok, in ms each.
   * @default 10000
   */
  closeTimeoutMs?: number
  /** Local log of the publisher (reconnections, topology errors). @default null */
  logger?: Logger | null
  /** Passed to the supervisor (connection name, heartbeat, reconnect, tls, buffer…). */
  supervisor?: Omit<SupervisorOptions, 'urls' | 'topology' | 'logger' | 'closeTimeoutMs'>
  /**
   * Makes the supervisor: the transport seam, e.g. an in-memory bus for tests.
   * @default createSupervisor from @am/bus-core
   */
  supervisorFactory?: (options: SupervisorOptions) => SupervisorLike
  /**
   * PRODUCER spans and W3C trace context in the headers when `@opentelemetry/api` is installed,
   * as a service does. `false` turns it off.
   * @default true
   */
  tracing?: boolean
}

/** Options of `Publisher.publishEvent`. */
export interface PublisherEventOptions {
  /** The conversation the event belongs to; a new one (`randomUUID()`) for an initial event. */
  conversationId: string
  /** @default false (as a service: some events have no consumer yet) */
  mandatory?: boolean
}

/** Options of `Publisher.sendCommand`. */
export interface PublisherCommandOptions {
  conversationId: string
  /** Where the result goes: a routing key on `commands` that some service binds. */
  replyTo: string
  /** Given back in the result. Absent or `''`: a fresh UUID. @default a fresh UUID */
  correlationId?: string
  /** @default true */
  mandatory?: boolean
}

/**
 * Publishes events, commands, configuration messages and logs from a program that is not a
 * service (a web application, a script, a cron job), with exactly the properties a service gives
 * them. It never consumes. It connects at the first publish (not before), reconnects as a service
 * does, and every publish resolves once the broker confirmed it; an unroutable mandatory one
 * rejects with a `PublishError` of code `PUBLISH_RETURNED`, a nacked one with `PUBLISH_NACKED`.
 * While disconnected, publishes wait in the supervisor's bounded buffer.
 *
 * @example
 * await using publisher = createPublisher({ urls: process.env.AMQP_URL, name: 'website' })
 * await publisher.publishEvent('SignedUp', { user: 42 }, { conversationId: randomUUID() })
 */
export class Publisher<M extends ServiceMessages = UntypedMessages> {
  /** The logical name given in the options. */
  readonly name: string
  readonly #options: PublisherOptions
  readonly #contentType: ContentType
  #bus: SupervisorLike | undefined
  #tracing: Promise<Tracing | undefined> | undefined
  #closing: Promise<void> | undefined

  /** @internal Use `createPublisher`. */
  constructor(options: PublisherOptions) {
    if (!options.name) throw new ServiceError('SERVICE_INVALID', 'a publisher needs a name (its logical service name)')
    this.name = options.name
    this.#options = options
    this.#contentType = options.json ? JSON_CONTENT_TYPE : CBOR
  }

  /** True once the first publish opened the connection (it may be reconnecting now). */
  get isStarted(): boolean {
    return this.#bus !== undefined
  }

  /** Publishes an event (exchange `events`, routing key = name). */
  publishEvent<K extends keyof EventsOf<M> & string>(
    name: K,
    payload: EventsOf<M>[K] | RawBody,
    options: PublisherEventOptions,
  ): Promise<void> {
    const properties = eventProperties(options.conversationId, this.#contentType)
    return this.#publish(EXCHANGES.events, name, payload, properties, options.mandatory ?? false)
  }

  /**
   * Sends a command (exchange `commands`, routing key `<service>.<Command>`); resolves with its
   * correlation id once confirmed.
   */
  async sendCommand<K extends keyof CommandsOf<M> & string>(
    command: K,
    payload: CommandsOf<M>[K] | RawBody,
    options: PublisherCommandOptions,
  ): Promise<string> {
    const correlationId = options.correlationId || randomUUID()
    const properties = commandProperties(options.conversationId, options.replyTo, correlationId, this.#contentType)
    await this.#publish(EXCHANGES.commands, command, payload, properties, options.mandatory ?? true)
    return correlationId
  }

  /** Publishes a configuration message (exchange `configurations`, not mandatory). */
  publishConfiguration<K extends keyof ConfigurationsOf<M> & string>(
    name: K,
    payload: ConfigurationsOf<M>[K] | RawBody,
  ): Promise<void> {
    return this.#publish(EXCHANGES.configurations, name, payload, configurationProperties(this.#contentType), false)
  }

  /**
   * Logs to the bus: GELF on `logs`, routing key `<name>.<LEVEL>`, as a service's `log()`; unlike
   * it, resolves once confirmed and rejects on failure (`LOG_INVALID_LEVEL` for a bad level).
   */
  async log(level: LevelName | number, short: string, options: LogOptions = {}): Promise<void> {
    const { routingKey, body } = gelf(this.name, level, short, options)
    await this.#connect().publish(EXCHANGES.logs, routingKey, body, {})
  }

  /**
   * Closes gracefully: waits until every publish made is confirmed (connecting first if it is
   * still connecting), each step bounded by `closeTimeoutMs`, then closes the connection;
   * publishes still unsent then reject with `SUPERVISOR_CLOSED`. Idempotent; nothing to do when
   * nothing was ever published.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  /** Hard stop: drops the connection at once; every pending publish rejects. */
  destroy(): Promise<void> {
    this.#closing ??= this.#bus ? this.#bus.destroy() : Promise.resolve()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #shutdown(): Promise<void> {
    // Publishes made before close() hand their message to the supervisor once tracing is loaded.
    await this.#tracing
    const bus = this.#bus
    if (!bus) return
    // A supervisor closed while it connects drops what waits in its buffer: a script that
    // publishes and closes at once would lose everything. Give the connection a chance first.
    if (!bus.isConnected && bus.stats().buffered > 0) {
      await readyWithin(bus, this.#options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS)
    }
    await bus.close()
  }

  #connect(): SupervisorLike {
    if (this.#closing) throw new ServiceError('SERVICE_STOPPED', `cannot publish: the publisher ${this.name} is closed`)
    if (this.#bus) return this.#bus
    const options = this.#options
    this.#tracing = options.tracing !== false ? loadTracing() : Promise.resolve(undefined)
    this.#bus = (options.supervisorFactory ?? createSupervisor)({
      connectionName: defaultConnectionName(this.name),
      ...options.supervisor,
      urls: options.urls,
      // The four exchanges, no queue: a publisher never consumes.
      topology: eventailTopology({ service: this.name }),
      logger: options.logger ?? null,
      closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    })
    return this.#bus
  }

  async #publish(
    exchange: string,
    routingKey: string,
    payload: unknown,
    given: PublishOptions,
    mandatory: boolean,
  ): Promise<void> {
    const bus = this.#connect()
    const { properties, body } = outgoing(payload, given)
    const send = (): Promise<void> => bus.publish(exchange, routingKey, body, { ...properties, mandatory })
    const tracing = await this.#tracing
    if (!tracing) return send()
    return tracing.publish(exchange, routingKey, properties, send)
  }
}

/**
 * Creates a publisher; it connects at its first publish.
 *
 * @example
 * await using publisher = createPublisher({ urls: 'amqp://localhost', name: 'billing-cron' })
 * await publisher.sendCommand('mailer.SendInvoice', { id: 7 }, {
 *   conversationId: randomUUID(),
 *   replyTo: 'billing.InvoiceSent',
 * })
 */
export function createPublisher<M extends ServiceMessages = UntypedMessages>(options: PublisherOptions): Publisher<M> {
  return new Publisher<M>(options)
}

/** Resolves when `bus` is connected, fails for good, or after `timeoutMs`, whichever comes first. */
async function readyWithin(bus: SupervisorLike, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    bus.ready().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    }),
  ])
  clearTimeout(timer)
}
