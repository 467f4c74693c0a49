import { ChannelError, toTopologyError } from './errors.js'
import type { FetchedMessage, TransportChannel } from './transport.js'

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
export function createQueueBrowser(channel: TransportChannel, queue: string): QueueBrowser {
  const settle = (what: string, send: () => void): void => {
    try {
      send()
    } catch (error) {
      const cause = (error as Error).cause ?? error
      throw new ChannelError(
        'CHANNEL_CLOSED',
        `cannot ${what} the message of ${queue}: its channel is closed (${(cause as Error).message})`,
        { cause },
      )
    }
  }
  return {
    async get() {
      try {
        return await channel.get(queue)
      } catch (error) {
        throw toTopologyError(error, { kind: 'queue', name: queue }) ?? error
      }
    },
    ack(message) {
      settle('ack', () => channel.ack(message.fields.deliveryTag, false))
    },
    nack(message, requeue = true) {
      settle('nack', () => channel.nack(message.fields.deliveryTag, false, requeue))
    },
  }
}
