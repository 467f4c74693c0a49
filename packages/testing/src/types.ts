import type { Delivery } from '@am/bus-core'

/** AMQP message properties as a consumer sees them (amqplib's `MessageProperties`). */
export type MessageProperties = Delivery['properties']

/** What a consumer receives, as amqplib gives it (`ConsumeMessage`). @internal */
export type ConsumeMessage = ConstructorParameters<typeof Delivery>[0]
