import { type Delivery, PublishError } from '@am/bus-core'
import type { Envelope, MessageKind, ResultStatus } from '@am/protocol'
import type { BatchMember } from './batch.js'
import type { BusLog } from './bus-log.js'
import { ServiceError } from './errors.js'
import type { LevelName, LogOptions } from './gelf.js'
import type { CommandsOf, EventsOf, ServiceMessages, UntypedMessages } from './handler-table.js'
import { ack, type InputRecord, nack } from './metrics.js'
import { type Outputs, type Sent, untilConfirmed } from './outputs.js'
import { type RawBody, rawBody } from './raw.js'

/** Acknowledgement taken over by a handler with `ctx.takeAck()`. */
export interface ManualAck {
  /** Acks the message once every publish the handler made is confirmed. */
  ack(): Promise<void>
  /** Requeues (`true`) or dead-letters (`false`, the default) the message. */
  nack(requeue?: boolean): void
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
  publishEvent<K extends keyof EventsOf<M> & string>(
    name: K,
    payload: EventsOf<M>[K] | RawBody,
    options?: PublishEventOptions,
  ): Promise<void>
  /**
   * Sends a command in this conversation; the message is acked only after it is confirmed.
   * A `rawBody(…)` payload (or `ctx.raw`) is sent as it is.
   */
  sendCommand<K extends keyof CommandsOf<M> & string>(
    command: K,
    payload: CommandsOf<M>[K] | RawBody,
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

/** What a handling context needs from the dispatch that made it. @internal */
export interface ContextHost {
  readonly outputs: Outputs
  readonly busLog: BusLog
  /** True when the connection that delivered `delivery` is gone (its tag can no longer be acked). */
  isConnectionGone(delivery: Delivery): boolean
  /** The failing-handler policy: delayed retries when configured, else requeue once, then dead-letter. */
  fail(
    delivery: Delivery,
    conversationId: string,
    error: unknown,
    record: InputRecord | undefined,
  ): void | Promise<void>
}

/** The `x-delivery-count` header (quorum queues), when the broker sets it. @internal */
export function deliveryCountOf(delivery: Delivery): number | undefined {
  const count = delivery.headers['x-delivery-count']
  return typeof count === 'number' ? count : undefined
}

/** The context given to a handler with one message; its publishes are tracked until settlement. @internal */
export class HandlingContext<M extends ServiceMessages> implements CommandContext<M>, BatchMember {
  readonly kind: MessageKind
  readonly routingKey: string
  readonly exchange: string
  readonly conversationId: string
  readonly correlationId: string
  readonly replyTo: string
  readonly status: string
  readonly redelivered: boolean
  readonly headers: Readonly<Record<string, unknown>>
  /** The results of the publishes made through this context, in order. */
  readonly sent: Promise<Sent>[] = []
  manual = false

  constructor(
    private readonly host: ContextHost,
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
    return deliveryCountOf(this.delivery)
  }

  get raw(): RawBody {
    const contentType = this.delivery.properties.contentType
    return rawBody(this.delivery.body, typeof contentType === 'string' ? contentType : '')
  }

  publishEvent<K extends keyof EventsOf<M> & string>(
    name: K,
    payload: EventsOf<M>[K] | RawBody,
    options: PublishEventOptions = {},
  ): Promise<void> {
    if (this.gone()) return this.refused()
    const conversationId = options.conversationId ?? this.conversationId
    return this.track(this.host.outputs.event(name, payload, conversationId, options.mandatory ?? false))
  }

  sendCommand<K extends keyof CommandsOf<M> & string>(
    command: K,
    payload: CommandsOf<M>[K] | RawBody,
    options: SendCommandOptions,
  ): Promise<void> {
    if (this.gone()) return this.refused()
    const conversationId = options.conversationId ?? this.conversationId
    return this.track(this.host.outputs.command(command, payload, conversationId, options))
  }

  returnSuccess(payload: unknown): Promise<void> {
    return this.reply(payload, 'success')
  }

  returnError(payload: unknown): Promise<void> {
    return this.reply(payload, 'error')
  }

  log(level: LevelName | number, short: string, options: LogOptions = {}): void {
    this.host.busLog.log(level, short, { conversationId: this.conversationId, ...options })
  }

  takeAck(): ManualAck {
    this.manual = true
    return {
      ack: async () => {
        await Promise.all(this.sent)
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
    void this.host.fail(this.delivery, this.conversationId, error, this.record)
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
      this.host.outputs.result(this.replyTo, payload, status, {
        conversationId: this.conversationId,
        correlationId: this.correlationId,
      }),
    )
  }

  /** True when this delivery's connection is gone: it will be redelivered, so its outputs must not go out. */
  private gone(): boolean {
    return this.redeliverable && !this.delivery.settled && this.host.isConnectionGone(this.delivery)
  }

  private refused(): Promise<void> {
    const error = new PublishError(
      'PUBLISH_CHANNEL_CLOSED',
      `not sent: the connection that delivered ${this.routingKey} is gone, and its redelivery will send it again`,
    )
    return this.track(Promise.resolve({ status: 'lost', error }))
  }

  private track(sent: Promise<Sent>): Promise<void> {
    this.sent.push(sent)
    return untilConfirmed(sent)
  }
}
