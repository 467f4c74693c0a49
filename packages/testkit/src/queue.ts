import type { Channel, GetMessage } from 'amqplib'

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
