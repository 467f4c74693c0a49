import { PublishError, type PublishOptions, type Supervisor } from '@am/bus-core'
import { CliError } from './errors.js'
import { withDeadline } from './wait.js'

/** How a confirmed publish ended: acked, returned as unroutable (`mandatory`), or refused (nack). */
export type PublishStatus = 'confirmed' | 'unroutable' | 'nacked'

/**
 * Publishes one message with `mandatory: true` and waits for the broker's verdict, at most
 * `timeoutMs` and no longer than `signal` allows.
 * @throws {CliError} `CLI_TIMEOUT` when no confirm came in time; `CLI_FAILED` when the connection
 *   dropped first (the message may or may not have arrived).
 */
export async function publishMandatory(
  bus: Supervisor,
  exchange: string,
  routingKey: string,
  body: Buffer,
  properties: PublishOptions,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<PublishStatus> {
  const publish = bus.publish(exchange, routingKey, body, { ...properties, mandatory: true }).then(
    () => 'confirmed' as const,
    (error: unknown) => {
      if (error instanceof PublishError && error.code === 'PUBLISH_RETURNED') return 'unroutable' as const
      if (error instanceof PublishError && error.code === 'PUBLISH_NACKED') return 'nacked' as const
      throw new CliError(
        'CLI_FAILED',
        `publishing to ${exchange} with routing key ${routingKey} failed: ${(error as Error).message}`,
        { cause: error },
      )
    },
  )
  return withDeadline(publish, { ...options, what: `the broker to confirm ${routingKey}` })
}
