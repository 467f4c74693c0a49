// A service for the dead-letter scenario, shared by the memory and the real-broker test.
import { type Handlers, Service } from '@am/service'
import type { OrderMessages } from '../src/relay.js'

/** A relay whose handler fails on orders without a total. */
export class StrictRelay extends Service<OrderMessages> {
  readonly name = 'strict-relay'

  protected handlers(): Handlers<OrderMessages> {
    return {
      events: {
        OrderPlaced: async (order, ctx) => {
          if (typeof order.total !== 'number') throw new Error(`order ${order.orderId} has no total`)
          await ctx.publishEvent('OrderRelayed', { ...order, relayedBy: this.name })
        },
      },
    }
  }
}
