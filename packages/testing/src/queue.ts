import type { BrokerConnection } from './connection.js'
import type { ConsumeMessage, MessageProperties } from './types.js'

/** A message in a queue. @internal */
export interface QueuedMessage {
  seq: number
  id: number
  exchange: string
  routingKey: string
  body: Buffer
  properties: MessageProperties
  redelivered: boolean
  /** Deliveries returned to the queue (quorum queues expose it as `x-delivery-count`). */
  returns: number
  /** Its queue's message TTL timer is set (`x-message-ttl`). */
  expiresLater?: boolean
  /** Its queue's message TTL ran out while it was delivered: it expires when it comes back. */
  expired?: boolean
}

/** A consumer of a queue. @internal */
export interface ConsumerState {
  tag: string
  queue: Queue
  connection: BrokerConnection
  prefetch: number
  noAck: boolean
  exclusive: boolean
  unacked: number
  onMessage: (message: ConsumeMessage) => void
}

/** A delivery not yet settled. @internal */
export interface Outstanding {
  tag: number
  consumer: ConsumerState
  message: QueuedMessage
}

/** A queue of the memory broker. @internal */
export class Queue {
  readonly ready: QueuedMessage[] = []
  readonly unacked = new Set<Outstanding>()
  readonly consumers: ConsumerState[] = []
  hadConsumer = false
  nextSeq = 0

  constructor(
    readonly name: string,
    readonly durable: boolean,
    readonly exclusive: boolean,
    readonly autoDelete: boolean,
    readonly args: Record<string, unknown>,
    readonly owner: BrokerConnection | undefined,
  ) {}

  /** Puts a message back where it was (RabbitMQ keeps the original order on requeue). */
  insert(message: QueuedMessage): void {
    let low = 0
    let high = this.ready.length
    while (low < high) {
      const mid = (low + high) >> 1
      if ((this.ready[mid] as QueuedMessage).seq < message.seq) low = mid + 1
      else high = mid
    }
    this.ready.splice(low, 0, message)
  }
}
