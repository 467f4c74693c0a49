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
// Fake time
export { FakeClock } from './clock.js'
// Errors
export type { TestingErrorCode } from './errors.js'
export { TestingError } from './errors.js'
// The harness
export type {
  CapturedLog,
  CapturedMessage,
  CommandResult,
  ConversationOutputs,
  DeadLetter,
  DeathRecord,
  DeliveryOutcome,
  HarnessCommandOptions,
  HarnessOptions,
  HarnessPublishOptions,
  PublishResult,
  ServiceClass,
  ServiceHarness,
  ServiceOverrides,
  StartableService,
} from './harness.js'
export { createHarness, Harness, startService } from './harness.js'
export type { PublishProperties } from './properties.js'
export type { MessageProperties } from './types.js'
