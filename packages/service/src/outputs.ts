import { randomUUID } from 'node:crypto'
import { EXCHANGES, PublishError, type PublishOptions, type ReturnedMessage, type SupervisorLike } from '@am/bus-core'
import { decode } from '@am/codec'
import {
  commandProperties,
  configurationProperties,
  eventProperties,
  type MessageKind,
  type ResultStatus,
  resultProperties,
} from '@am/protocol'
import type { BusLog } from './bus-log.js'
import { ServiceError } from './errors.js'
import type { Outcome } from './handler-table.js'
import type { Metrics } from './metrics.js'
import { now } from './metrics.js'
import type { ResolvedOptions } from './options.js'
import { isRawBody, outgoing } from './raw.js'
import { type AnySchema, check, formatIssues, type PayloadIssue } from './schema.js'
import { Delays } from './timers.js'
import type { Tracing } from './tracing.js'

/** Options of `returnSuccess` / `returnError`. */
export interface ReturnResultOptions {
  conversationId: string
  correlationId?: string
  /** @default true */
  mandatory?: boolean
}

/** A returned (unroutable) publish, as given to `handleReturnedMessage`. */
export interface Returned extends ReturnedMessage {
  /** The decoded body, or undefined when it does not decode. */
  payload: unknown
  /** eventail's envelope: reply_to and correlation_id when non-empty, plus the headers. */
  envelope: Record<string, unknown>
}

/**
 * How a publish ended: confirmed; returned as unroutable (with what `handleReturnedMessage`
 * decided); nacked by the broker after every retry; lost with its connection before the confirm
 * (the handled message is redelivered and publishes again); or failed otherwise (not started,
 * not encodable…). `error` is what the publisher's promise rejects with.
 * @internal
 */
export type Sent =
  | { readonly status: 'confirmed' }
  | { readonly status: 'returned'; readonly error: PublishError; readonly outcome: Outcome }
  | { readonly status: 'nacked'; readonly error: PublishError }
  | { readonly status: 'lost'; readonly error: PublishError }
  | { readonly status: 'failed'; readonly error: unknown }

/** @internal */
export const CONFIRMED: Sent = { status: 'confirmed' }

const noop = (): void => {}

/**
 * The promise a caller of a publish sees: resolved once confirmed, rejected with the error
 * otherwise. Its rejection is never unhandled (a handler may ignore its publishes' promises).
 * @internal
 */
export function untilConfirmed(sent: Promise<Sent>): Promise<void> {
  const promise = sent.then((result) => {
    if (result.status !== 'confirmed') throw result.error
  })
  promise.catch(noop)
  return promise
}

/**
 * The publications a service declares, by kind and routing key: a schema, or `true` (no schema).
 * @internal
 */
export interface DeclaredPublications {
  readonly events: ReadonlyMap<string, AnySchema | true>
  readonly commands: ReadonlyMap<string, AnySchema | true>
  readonly configurations: ReadonlyMap<string, AnySchema | true>
}

interface Guard {
  readonly publications: DeclaredPublications
  readonly validate: boolean
  readonly strict: boolean
}

/** What the outputs need from their service, once it is started. */
export interface OutputsOptions {
  readonly options: ResolvedOptions
  readonly metrics: Metrics | undefined
  /** The service's `handleReturnedMessage` (a subclass may override it). */
  readonly handleReturned: (returned: Returned) => Outcome | Promise<Outcome>
}

/**
 * The publishes of a service: properties per kind, encoding (a raw body as it is), a PRODUCER span
 * when tracing, confirm, re-publish of nacked messages after the configured delays, and the
 * decision on returned ones. Every publish resolves with a typed {@link Sent}, never rejects.
 * @internal
 */
export class Outputs {
  #bus: SupervisorLike | undefined
  #busLog: BusLog | undefined
  #service = ''
  /** Set at start when tracing is on and `@opentelemetry/api` is installed. */
  tracing: Tracing | undefined
  /** Set once the service is stopped: publishes fail. */
  stopped = false
  readonly #delays = new Delays()
  #guard: Guard | undefined

  constructor(private readonly host: OutputsOptions) {}

  /** Binds the outputs to the started service: its name, supervisor and bus log. */
  attach(service: string, bus: SupervisorLike, busLog: BusLog): void {
    this.#service = service
    this.#bus = bus
    this.#busLog = busLog
  }

  /**
   * Checks the publishes against the declared publications from now on: `validate` runs their
   * schemas, `strict` refuses the keys left out. Without either, nothing is checked (and nothing paid).
   */
  guard(publications: DeclaredPublications, options: { validate: boolean; strict: boolean }): void {
    this.#guard = options.validate || options.strict ? { publications, ...options } : undefined
  }

  event(name: string, payload: unknown, conversationId: string, mandatory: boolean): Promise<Sent> {
    const properties = eventProperties(conversationId, this.host.options.contentType)
    if (this.#guard !== undefined) {
      return this.#guarded(this.#guard, 'events', name, payload, () =>
        this.#publish('event', EXCHANGES.events, name, payload, properties, mandatory),
      )
    }
    return this.#publish('event', EXCHANGES.events, name, payload, properties, mandatory)
  }

  command(
    command: string,
    payload: unknown,
    conversationId: string,
    options: { replyTo: string; correlationId?: string; mandatory?: boolean },
  ): Promise<Sent> {
    const properties = commandProperties(
      conversationId,
      options.replyTo,
      options.correlationId || randomUUID(),
      this.host.options.contentType,
    )
    const mandatory = options.mandatory ?? true
    if (this.#guard !== undefined) {
      return this.#guarded(this.#guard, 'commands', command, payload, () =>
        this.#publish('command', EXCHANGES.commands, command, payload, properties, mandatory),
      )
    }
    return this.#publish('command', EXCHANGES.commands, command, payload, properties, mandatory)
  }

  result(destination: string, payload: unknown, status: ResultStatus, options: ReturnResultOptions): Promise<Sent> {
    const properties = resultProperties(
      options.conversationId,
      status,
      options.correlationId ?? '',
      this.host.options.contentType,
    )
    return this.#publish('result', EXCHANGES.commands, destination, payload, properties, options.mandatory ?? true)
  }

  configuration(name: string, payload: unknown): Promise<Sent> {
    const properties = configurationProperties(this.host.options.contentType)
    if (this.#guard !== undefined) {
      return this.#guarded(this.#guard, 'configurations', name, payload, () =>
        this.#publish('configuration', EXCHANGES.configurations, name, payload, properties, false),
      )
    }
    return this.#publish('configuration', EXCHANGES.configurations, name, payload, properties, false)
  }

  /** Publishes once the guard let it through; else fails with a typed error, nothing sent. */
  #guarded(
    guard: Guard,
    kind: keyof DeclaredPublications,
    key: string,
    payload: unknown,
    publish: () => Promise<Sent>,
  ): Promise<Sent> {
    const declared = guard.publications[kind].get(key)
    if (declared === undefined) {
      if (!guard.strict) return publish()
      const error = new ServiceError(
        'PUBLISH_UNDECLARED',
        `${this.#service} does not declare ${key} among the ${kind} it publishes: not sent`,
      )
      return Promise.resolve({ status: 'failed', error })
    }
    // A raw body is bytes already: it is sent as it is, unchecked.
    if (declared === true || !guard.validate || isRawBody(payload)) return publish()
    const invalid = (issues: readonly PayloadIssue[]): Sent => ({
      status: 'failed',
      error: new ServiceError(
        'OUTPUT_INVALID',
        `the payload of ${key} does not match its schema: ${formatIssues(issues)}; not sent`,
      ),
    })
    const checked = check(declared, payload)
    if (checked instanceof Promise) return checked.then((c) => (c.ok ? publish() : invalid(c.issues)))
    return checked.ok ? publish() : Promise.resolve(invalid(checked.issues))
  }

  /** Ends the nack-retry delays still running (their publishes end `nacked`), and every later one. */
  cancelRetries(): void {
    this.#delays.cancelAll()
  }

  /** Publishes, in a PRODUCER span when tracing (`tracing.ts`). */
  #publish(
    kind: MessageKind,
    exchange: string,
    routingKey: string,
    payload: unknown,
    given: PublishOptions,
    mandatory: boolean,
  ): Promise<Sent> {
    const tracing = this.tracing
    if (!tracing) return this.#confirmed(kind, exchange, routingKey, payload, given, mandatory)
    return this.#traced(tracing, kind, exchange, routingKey, payload, given, mandatory)
  }

  async #traced(
    tracing: Tracing,
    kind: MessageKind,
    exchange: string,
    routingKey: string,
    payload: unknown,
    given: PublishOptions,
    mandatory: boolean,
  ): Promise<Sent> {
    let sent: Sent | undefined
    try {
      // The span fails with the error the publisher's promise rejects with.
      await tracing.publish(exchange, routingKey, given, async () => {
        sent = await this.#confirmed(kind, exchange, routingKey, payload, given, mandatory)
        if (sent.status !== 'confirmed') throw sent.error
      })
    } catch (error) {
      // Not the publish's own failure: the tracing hooks threw.
      return sent ?? { status: 'failed', error }
    }
    return sent ?? CONFIRMED
  }

  /** Encodes and publishes with confirm, re-publishing nacked messages after the delays. */
  async #confirmed(
    kind: MessageKind,
    exchange: string,
    routingKey: string,
    payload: unknown,
    given: PublishOptions,
    mandatory: boolean,
  ): Promise<Sent> {
    const bus = this.#bus
    if (!bus || this.stopped) {
      const error = new ServiceError('SERVICE_STATE', `cannot publish ${routingKey}: the service is not started`)
      return { status: 'failed', error }
    }
    let body: Buffer
    let properties: PublishOptions
    try {
      ;({ properties, body } = outgoing(payload, given))
    } catch (error) {
      return { status: 'failed', error }
    }
    const metrics = this.host.metrics
    const delays = this.host.options.nackRetryDelaysMs
    for (let attempt = 0; ; attempt++) {
      const record = metrics?.published(kind, routingKey)
      const started = record !== undefined ? now() : 0
      try {
        await bus.publish(exchange, routingKey, body, { ...properties, mandatory })
        if (record !== undefined) metrics?.settled(record, started, undefined)
        return CONFIRMED
      } catch (error) {
        if (record !== undefined) metrics?.settled(record, started, error)
        if (!(error instanceof PublishError)) return { status: 'failed', error }
        if (error.code === 'PUBLISH_NACKED') {
          if (attempt >= delays.length) return { status: 'nacked', error }
          const wait = delays[attempt] as number
          this.host.options.logger?.warn(`the broker nacked ${exchange}/${routingKey}; publishing again in ${wait} ms`)
          if (await this.#delays.wait(wait)) continue
          return { status: 'nacked', error }
        }
        if (error.code === 'PUBLISH_RETURNED') {
          const outcome = error.returned ? await this.#onReturned(error.returned) : 'drop'
          return { status: 'returned', error, outcome }
        }
        if (error.code === 'PUBLISH_CHANNEL_CLOSED') return { status: 'lost', error }
        return { status: 'failed', error }
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
      return await this.host.handleReturned({ ...message, payload, envelope })
    } catch (error) {
      this.#busLog?.log('EMERGENCY', `in handle_returned_message [${this.#service}] ${(error as Error).message}`, {
        conversationId: typeof envelope.conversation_id === 'string' ? envelope.conversation_id : '',
      })
      return 'drop'
    }
  }
}
