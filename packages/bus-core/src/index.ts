// Connection supervision

export type { BackoffOptions } from './backoff.js'
export { BUS_PRODUCT, defaultConnectionName } from './connection-url.js'
// Dead-lettering
export type { DeadLetterOptions, DeadLetterSetup } from './dead-letter.js'
export { deadLetterTopology, setupDeadLettering } from './dead-letter.js'
export type { Settler } from './delivery.js'
export { Delivery } from './delivery.js'
// Errors
export type { BusErrorCode, ConnectionFailure, ReturnedMessage, TopologyConflict } from './errors.js'
export {
  ChannelError,
  ConnectionError,
  MessageError,
  PublishError,
  TopologyError,
  toTopologyError,
} from './errors.js'
// Logging
export type { Logger } from './logger.js'
// The management HTTP API
export type { ManagementAnswer, ManagementEndpoint } from './management.js'
export { managementEndpoint, requestManagement, vhostOf } from './management.js'
// Browsing a queue (basic.get)
export type { QueueBrowser } from './queue-browser.js'
// The supervisor
export type {
  ConsumeOptions,
  Consumer,
  PublishOptions,
  SupervisorEvents,
  SupervisorLike,
  SupervisorOptions,
  SupervisorState,
  SupervisorStats,
} from './supervisor.js'
export { createSupervisor, Supervisor } from './supervisor.js'
// Topology
export type { BindingSpec, EventailTopologyOptions, ExchangeSpec, QueueNames, QueueSpec, Topology } from './topology.js'
export { defineTopology, EXCHANGES, eventailTopology, mergeTopologies } from './topology.js'
// The transport seam (for transports such as @am/testing's memory broker)
export type {
  ConfirmOutcome,
  ConnectTarget,
  FetchedMessage,
  MessageProperties,
  PublishProperties,
  QueueInfo,
  TimerHandle,
  Timers,
  Transport,
  TransportChannel,
  TransportConnection,
  TransportMessage,
  TransportReturn,
} from './transport.js'
