// The relay on the in-memory bus (@am/testing): no broker needed.
import { startService } from '@am/testing'
import { describe, expect, it } from 'vitest'
import { Relay, Shop } from '../src/relay.js'

describe('Relay on the memory bus', () => {
  it('relays OrderPlaced as OrderRelayed in the same conversation, and acks the input', async () => {
    await using h = await startService(Relay)
    const { outcome, events, conversationId } = await h.publishEvent('OrderPlaced', { orderId: 'A-1', total: 42 })
    expect({
      outcome,
      events: events.map((e) => ({
        routingKey: e.routingKey,
        payload: e.payload,
        sameConversation: e.conversationId === conversationId,
        persistent: e.properties.deliveryMode,
      })),
      left: h.broker.queue('relay.events')?.messages.length,
    }).toEqual({
      outcome: 'acked',
      events: [
        {
          routingKey: 'OrderRelayed',
          payload: { orderId: 'A-1', total: 42, relayedBy: 'relay' },
          sameConversation: true,
          persistent: 2,
        },
      ],
      left: 0,
    })
  })

  it('relays the orders the shop places, each in its own conversation', async () => {
    await using h = await startService(Relay)
    const shop = await h.start(Shop)
    const conversations = [
      await shop.placeOrder({ orderId: 'A-1', total: 1 }),
      await shop.placeOrder({ orderId: 'A-2', total: 2 }),
    ]
    await h.waitFor(() => h.published.filter((m) => m.routingKey === 'OrderRelayed').length === 2)
    expect(conversations.map((c) => h.conversation(c).events.map((e) => e.routingKey))).toEqual([
      ['OrderPlaced', 'OrderRelayed'],
      ['OrderPlaced', 'OrderRelayed'],
    ])
  })

  it('keeps the input until its nacked output is published again and confirmed', async () => {
    await using h = await startService(Relay, { service: { nackRetryDelaysMs: [10] } })
    h.broker.failNextPublish({ exchange: 'events', routingKey: 'OrderRelayed' })
    const { outcome, events } = await h.publishEvent('OrderPlaced', { orderId: 'A-3', total: 3 })
    expect([outcome, events.length]).toEqual(['acked', 1])
  })

  it('redelivers an input whose output was not confirmed before the connection dropped', async () => {
    await using h = await startService(Relay)
    h.broker.slowConfirms(50)
    const publishing = h.publishEvent('OrderPlaced', { orderId: 'A-4', total: 4 })
    await h.waitFor(() => h.published.some((m) => m.routingKey === 'OrderRelayed'))
    h.broker.slowConfirms(0)
    h.broker.dropConnections({ name: 'relay' })
    const { outcome, events } = await publishing
    // At least once: the relay saw the order twice and published OrderRelayed twice.
    expect([outcome, events.map((e) => e.routingKey)]).toEqual(['acked', ['OrderRelayed', 'OrderRelayed']])
  })
})
