import type { MessageProperties as BusMessageProperties, TransportMessage } from '@am/bus-core'

/** AMQP message properties as a consumer sees them (bus-core's `MessageProperties`). */
export type MessageProperties = BusMessageProperties

/** What a consumer receives through the transport seam (bus-core's `TransportMessage`). @internal */
export type ConsumeMessage = TransportMessage
