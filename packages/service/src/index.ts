// The base class

// Wire format (it lives in @am/protocol; these names stay importable from @am/service)
export type { Envelope, MessageKind, Refusal, ResultStatus } from '@am/protocol'
export {
  commandProperties,
  configurationProperties,
  eventProperties,
  isRefusal,
  openEnvelope,
  RETRY_HEADERS,
  resultProperties,
  routingKeyOf,
  waitQueueName,
} from '@am/protocol'
// Batches
export type { BatchCallback, BatchEntry, BatchOptions } from './batch.js'
export { batch } from './batch.js'
export type {
  CommandContext,
  ManualAck,
  MessageContext,
  PublishEventOptions,
  SendCommandOptions,
} from './context.js'
// The AsyncAPI description
export type { AsyncApiDocument, DescribeOptions } from './describe.js'
// Errors
export type { ServiceErrorCode } from './errors.js'
export { RequestError, ServiceError } from './errors.js'
// Logs
export type { LevelName, LogOptions } from './gelf.js'
export { LEVELS } from './gelf.js'
export type {
  CommandHandler,
  CommandsOf,
  ConfigurationHandler,
  ConfigurationsOf,
  Entry,
  EventsOf,
  Handlers,
  InferMessages,
  MessageHandler,
  MessageSchemas,
  Outcome,
  PayloadsOf,
  Publications,
  ResultsOf,
  ServiceMessages,
  UntypedMessages,
  Validated,
} from './handler-table.js'
// Metrics
export type { ConfirmLatencyStats, HistogramStats, InputStats, OutputStats, ServiceStats } from './metrics.js'
export type { ServiceOptions } from './options.js'
export type { Returned, ReturnResultOptions } from './outputs.js'
// Publishing from programs that are not services
export type { PublisherCommandOptions, PublisherEventOptions, PublisherOptions } from './publisher.js'
export { createPublisher, Publisher } from './publisher.js'
// Raw bodies
export type { RawBody } from './raw.js'
export { isRawBody, rawBody } from './raw.js'
export type { RequestOptions } from './requests.js'
// Delayed retries
export type { RetryOptions, RetryOverrides, RetryPolicy } from './retry.js'
export { isPattern, matchesTopic } from './routing.js'
// Payload schemas (Standard Schema v1)
export type { AnySchema, InvalidPayloadResult, PayloadIssue, StandardSchemaV1 } from './schema.js'
export type { ServiceEvents, ServiceState } from './service.js'
export { Service } from './service.js'
