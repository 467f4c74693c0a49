// The in-memory broker

export type {
  BrokerMessage,
  DeadLetterReason,
  MemoryBrokerEvents,
  MemoryBrokerOptions,
  MemoryPolicy,
  PublishFilter,
  QueueSnapshot,
} from './broker.js'
export { createMemoryBroker, MemoryBroker } from './broker.js'
// Errors
export type { TestingErrorCode } from './errors.js'
export { TestingError } from './errors.js'
export type { PublishProperties } from './properties.js'
export { MemorySupervisor } from './supervisor.js'
export type { MessageProperties } from './types.js'
