// The base class

// Batches
export type { BatchCallback, BatchEntry, BatchOptions } from './batch.js'
export { batch } from './batch.js'
// Errors
export type { ServiceErrorCode } from './errors.js'
export { RequestError, ServiceError } from './errors.js'

// Logs
export type { LevelName, LogOptions } from './gelf.js'
export { LEVELS } from './gelf.js'
// Metrics
export type { ConfirmLatencyStats, HistogramStats, InputStats, OutputStats, ServiceStats } from './metrics.js'
// Publishing from programs that are not services
export type { PublisherCommandOptions, PublisherEventOptions, PublisherOptions } from './publisher.js'
export { createPublisher, Publisher } from './publisher.js'
// Raw bodies
export type { RawBody } from './raw.js'
export { isRawBody, rawBody } from './raw.js'
export { isPattern, matchesTopic } from './routing.js'
export type {
  CommandContext,
  CommandHandler,
  ConfigurationHandler,
  Handlers,
  ManualAck,
  MessageContext,
  MessageHandler,
  Outcome,
  PublishEventOptions,
  RequestOptions,
  Returned,
  ReturnResultOptions,
  SendCommandOptions,
  ServiceEvents,
  ServiceMessages,
  ServiceOptions,
  ServiceState,
  UntypedMessages,
} from './service.js'
export { Service } from './service.js'
// Wire format
export type { Envelope, MessageKind, Refusal, ResultStatus } from './wire.js'
export {
  commandProperties,
  configurationProperties,
  eventProperties,
  isRefusal,
  openEnvelope,
  resultProperties,
  routingKeyOf,
} from './wire.js'
