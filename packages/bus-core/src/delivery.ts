import type { MessageProperties, TransportMessage } from './transport.js'

/** What settles deliveries: the channel's ack bookkeeping, or an in-memory bus. */
export interface Settler {
  /** Queues an ack; false when the tag is settled already or its channel is gone. */
  ack(tag: number): boolean
  /** Sends a nack; false when the tag is settled already or its channel is gone. */
  nack(tag: number, requeue: boolean): boolean
}

/**
 * One message delivered to a consumer. `ack`/`nack` are idempotent; after a reconnection the
 * delivery tag belongs to a dead channel, and settling it is a no-op (logged at debug level),
 * never a channel error.
 */
export class Delivery {
  /** The message body, as received. */
  readonly body: Buffer
  readonly exchange: string
  readonly routingKey: string
  /** Set by the broker when this message was delivered before and not acknowledged. */
  readonly redelivered: boolean
  /** Valid only on the channel of `generation`. */
  readonly deliveryTag: number
  readonly consumerTag: string
  /** AMQP properties, headers included. */
  readonly properties: MessageProperties
  /** The queue it was consumed from (its actual name). */
  readonly queue: string
  /** The connection generation whose channel delivered it. */
  readonly generation: number
  private readonly tracker: Settler | undefined
  private isSettled: boolean

  /**
   * For transports: `settler` settles the delivery tag (none for `noAck` consumers).
   * @internal
   */
  constructor(message: TransportMessage, queue: string, settler: Settler | undefined, generation: number) {
    const tracker = settler
    this.body = message.content
    this.exchange = message.fields.exchange
    this.routingKey = message.fields.routingKey
    this.redelivered = message.fields.redelivered
    this.deliveryTag = message.fields.deliveryTag
    this.consumerTag = message.fields.consumerTag
    this.properties = message.properties
    this.queue = queue
    this.generation = generation
    this.tracker = tracker
    this.isSettled = tracker === undefined
  }

  /** Message headers (`{}` when there are none). */
  get headers(): Record<string, unknown> {
    return (this.properties.headers ?? {}) as Record<string, unknown>
  }

  /** True once acked or nacked (always true for `noAck` consumers). */
  get settled(): boolean {
    return this.isSettled
  }

  /** Acknowledges the message (coalesced with neighbours into one frame when possible). */
  ack(): boolean {
    if (this.isSettled) return false
    this.isSettled = true
    return this.tracker?.ack(this.deliveryTag) ?? false
  }

  /**
   * Rejects the message: back to its queue with `requeue`, else to the dead-letter exchange
   * (or discarded when the queue has none).
   */
  nack(requeue = false): boolean {
    if (this.isSettled) return false
    this.isSettled = true
    return this.tracker?.nack(this.deliveryTag, requeue) ?? false
  }
}
