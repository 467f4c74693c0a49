import { describe, expect, it } from 'vitest'
import { Relay, Shop } from '../src/relay.js'
import { peer, run, spy } from './helpers.js'

describe('Relay', () => {
  it('relays OrderPlaced as OrderRelayed in the same conversation, and acks the input', async () => {
    const bus = await peer()
    const relayed = await spy(bus, 'events', 'OrderRelayed')
    const relay = await run((o) => new Relay(o))
    const shop = await run((o) => new Shop(o))
    const conversationId = await shop.placeOrder({ orderId: 'A-1', total: 42 })
    const message = await relayed.nth(1)
    expect({ conversationId: message.headers.conversation_id, payload: relayed.payload(message) }).toEqual({
      conversationId,
      payload: { orderId: 'A-1', total: 42, relayedBy: 'relay' },
    })
    await relay.stop()
    // An unacked input would be back in the queue once its consumer is gone.
    expect((await bus.checkQueue('relay.events')).messageCount).toBe(0)
  })
})
