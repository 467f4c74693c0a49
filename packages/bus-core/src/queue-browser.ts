import type { Channel, GetMessage } from 'amqplib'
import { ChannelError, toTopologyError } from './errors.js'

/** AMQP message properties as the broker delivers them, headers included. */
export type MessageProperties = GetMessage['properties']

/** A message taken from a queue with `basic.get`, not acknowledged yet. */
export interface FetchedMessage {
  /** The message body, as stored. */
  readonly content: Buffer
  readonly fields: {
    /** Valid only on the browser that fetched it. */
    readonly deliveryTag: number
    /** Set by the broker when this message was delivered (or fetched) before and not acknowledged. */
    readonly redelivered: boolean
    readonly exchange: string
    readonly routingKey: string
    /** Messages left in the queue after this one. */
    readonly messageCount: number
  }
  readonly properties: MessageProperties
}

/**
 * Takes messages from one queue one at a time (`basic.get`) on a channel of its own. Messages not
 * acknowledged when the browser ends go back to their place in the queue, flagged redelivered.
 */
export interface QueueBrowser {
  /**
   * The queue's next message, or `undefined` when it is empty. Rejects with `TOPOLOGY_NOT_FOUND` when
   * the queue does not exist (the browser is then unusable), or when the channel is gone.
   */
  get(): Promise<FetchedMessage | undefined>
  /** Acknowledges a fetched message (it leaves the queue); throws `CHANNEL_CLOSED` once the channel is gone. */
  ack(message: FetchedMessage): void
  /**
   * Rejects a fetched message: back to its place with `requeue`, else dead-lettered (or dropped);
   * throws `CHANNEL_CLOSED` once the channel is gone.
   * @default requeue true
   */
  nack(message: FetchedMessage, requeue?: boolean): void
}

/** A `QueueBrowser` of `queue` over `channel`. @internal */
export function createQueueBrowser(channel: Channel, queue: string): QueueBrowser {
  const settle = (what: string, send: () => void): void => {
    try {
      send()
    } catch (error) {
      throw new ChannelError(
        'CHANNEL_CLOSED',
        `cannot ${what} the message of ${queue}: its channel is closed (${(error as Error).message})`,
        { cause: error },
      )
    }
  }
  return {
    async get() {
      try {
        const message = await channel.get(queue, { noAck: false })
        return message === false ? undefined : message
      } catch (error) {
        throw toTopologyError(error, { kind: 'queue', name: queue }) ?? error
      }
    },
    ack(message) {
      settle('ack', () => channel.ack(message as GetMessage))
    },
    nack(message, requeue = true) {
      settle('nack', () => channel.nack(message as GetMessage, false, requeue))
    },
  }
}
