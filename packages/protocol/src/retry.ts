/**
 * Delayed retries (an AM Bus extension, unknown to eventail): the headers a service adds to the
 * copy of a failed message it puts in a wait queue, and the wait queues' names.
 */
export const RETRY_HEADERS = {
  /** How many attempts failed so far (1 after the first failure): a number. */
  attempt: 'am-retry-attempt',
  /** One line per failed attempt, oldest first: its error's first line (at most 500 characters each). */
  errors: 'am-retry-errors',
} as const

/**
 * The wait queue of a service's events or commands queue for one delay, e.g.
 * `billing.events.retry.10000`; its fanout exchange has the same name. Its messages go back to
 * `<service>.<origin>` through the default exchange when their TTL (the delay) runs out.
 */
export function waitQueueName(service: string, origin: 'events' | 'commands', delayMs: number): string {
  return `${service}.${origin}.retry.${delayMs}`
}
