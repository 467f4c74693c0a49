import { type Channel, connect, type GetMessage } from 'amqplib'
import { onTestFinished } from 'vitest'
import { waitFor } from './index.js'

/** Whatever lends a channel for a while, such as `@am/bus-core`'s supervisor. */
export interface ChannelLender {
  withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T>
}

/** Takes every message off `queue` (acked), in order. */
export async function drain(lender: ChannelLender, queue: string): Promise<GetMessage[]> {
  return lender.withChannel(async (channel) => {
    const messages: GetMessage[] = []
    for (;;) {
      const message = await channel.get(queue, { noAck: true })
      if (message === false) return messages
      messages.push(message)
    }
  })
}

/** A queue of the test's own that catches what is published on an exchange. */
export interface BoundQueue {
  /** The server-generated name. */
  name: string
  /** Takes the next message (acked), waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<GetMessage>
}

/**
 * Binds a server-named exclusive queue to a topic exchange with `routingKey` (declaring the
 * exchange, durable, as the services do), on a connection of its own that is closed when the
 * current test finishes.
 */
export async function bindQueue(url: string, exchange: string, routingKey: string): Promise<BoundQueue> {
  const connection = await connect(url)
  onTestFinished(() => connection.close().catch(() => undefined))
  const channel = await connection.createChannel()
  await channel.assertExchange(exchange, 'topic', { durable: true })
  const { queue } = await channel.assertQueue('', { exclusive: true })
  await channel.bindQueue(queue, exchange, routingKey)
  return {
    name: queue,
    next: (timeoutMs = 5_000) =>
      waitFor(
        async () => (await channel.get(queue, { noAck: true })) || undefined,
        timeoutMs,
        `a message for ${routingKey} on ${exchange}`,
      ),
  }
}
