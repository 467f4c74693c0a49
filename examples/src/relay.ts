// An event relay: a business service reacts to an event by publishing another one in the same
// conversation. The input is acked only once the broker has confirmed the output, so a crash in
// between redelivers the input rather than losing the output.
import { randomUUID } from 'node:crypto'
import { type Handlers, type Publications, Service } from '@am/service'

/** Event `OrderPlaced`: a customer placed an order. */
export interface OrderPlaced {
  orderId: string
  total: number
}

/** Event `OrderRelayed`: the relay passed the order on. */
export interface OrderRelayed {
  orderId: string
  total: number
  relayedBy: string
}

/** The order events, by routing key. */
export interface OrderMessages {
  events: { OrderPlaced: OrderPlaced; OrderRelayed: OrderRelayed }
  commands: Record<never, never>
  results: Record<never, never>
  configurations: Record<never, never>
}

/** The `relay` service: consumes `OrderPlaced` and publishes `OrderRelayed` in the same conversation. */
export class Relay extends Service<OrderMessages> {
  readonly name = 'relay'

  protected handlers(): Handlers<OrderMessages> {
    return {
      events: {
        // ctx.publishEvent keeps the conversation id of the event handled.
        OrderPlaced: (order, ctx) =>
          ctx.publishEvent('OrderRelayed', { orderId: order.orderId, total: order.total, relayedBy: this.name }),
      },
    }
  }

  /** What it publishes (no schema here: the types are compile-time only), for its AsyncAPI document. */
  protected override publishes(): Publications<OrderMessages> {
    return { events: { OrderRelayed: true } }
  }
}

/**
 * The `shop` service: publishes orders and consumes nothing. An order comes from outside the bus,
 * so its `OrderPlaced` is an initial event and starts a new conversation.
 */
export class Shop extends Service<OrderMessages> {
  readonly name = 'shop'

  protected handlers(): Handlers<OrderMessages> {
    return {}
  }

  /** Publishes `OrderPlaced` in a new conversation and returns its conversation id. */
  async placeOrder(order: OrderPlaced): Promise<string> {
    const conversationId = randomUUID()
    await this.publishEvent('OrderPlaced', order, { conversationId })
    return conversationId
  }
}
