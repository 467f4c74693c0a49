/** The exchange names of the Allo-Media bus: four durable topic exchanges. */
export const EXCHANGES = {
  events: 'events',
  commands: 'commands',
  configurations: 'configurations',
  logs: 'logs',
} as const

/** One of the bus exchanges' names. */
export type ExchangeName = (typeof EXCHANGES)[keyof typeof EXCHANGES]

/** The durable queue a service consumes its events or its commands (and results) from. */
export function serviceQueueName(service: string, kind: 'events' | 'commands'): string {
  return `${service}.${kind}`
}

/** Unacknowledged deliveries a service consumer holds at once (eventail's default). */
export const DEFAULT_PREFETCH = 3

/** Unacknowledged deliveries a tool's or a reply-queue consumer holds at once. */
export const TOOL_PREFETCH = 100

/** Publishes a supervisor has awaiting their confirm at once. */
export const DEFAULT_CONFIRM_WINDOW = 1000

/** Messages a supervisor keeps while disconnected before refusing new publishes. */
export const DEFAULT_BUFFER_MESSAGES = 10_000

/** How long a graceful close waits for in-flight work, in ms. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000

/**
 * Dead-lettering as eventail's README sets it up: a topic exchange, one durable queue bound with
 * `#` that collects every dead letter, and a policy named `DLX` on the service queues (anchored
 * here; eventail's pattern is not).
 */
export const DEAD_LETTERS = {
  exchange: 'am-dlx',
  queue: 'dead_letters',
  policyName: 'DLX',
  pattern: '^.*\\.(events|commands)$',
} as const
