// Death records
export type { DeathRecord } from './death.js'
export { readDeaths } from './death.js'
// Envelope checks
export type { DeliveryLike, Envelope, Refusal } from './envelope.js'
export { isRefusal, openEnvelope, routingKeyOf } from './envelope.js'
// Errors
export type { ProtocolErrorCode } from './errors.js'
export { ProtocolError } from './errors.js'
// Exchanges, queue names and defaults
export type { ExchangeName } from './exchanges.js'
export {
  DEAD_LETTERS,
  DEFAULT_BUFFER_MESSAGES,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONFIRM_WINDOW,
  DEFAULT_PREFETCH,
  EXCHANGES,
  serviceQueueName,
  TOOL_PREFETCH,
} from './exchanges.js'
// Logs
export type { GelfMessage, LevelName, LogOptions } from './gelf.js'
export { gelf, LEVEL_NAMES, LEVELS, levelName } from './gelf.js'
// Header values
export { headerText } from './headers.js'
// Properties per message kind
export type { KindProperties, MessageKind, ResultStatus } from './properties.js'
export { commandProperties, configurationProperties, eventProperties, resultProperties } from './properties.js'
// Delayed retries
export { RETRY_HEADERS, waitQueueName } from './retry.js'
// Topic matching
export { isPattern, matchesTopic } from './topic.js'
