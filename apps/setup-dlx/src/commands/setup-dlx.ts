import { type DeadLetterSetup, setupDeadLettering } from '@am/bus-core'
import { type CliContext, connectBus, ndjsonContext, writeNdjson } from '@am/cli-kit'
import { redactUrl } from '@am/errors'

/** Positional arguments of `am-setup-dlx`. */
export interface SetupDlxArgs {
  url: string
}

/** Options of `am-setup-dlx` (defaults are bus-core's). */
export interface SetupDlxOptions {
  /** The management HTTP API; by default the broker host on port 15672 with the AMQP credentials. */
  managementUrl?: string
  exchange: string
  queue: string
  /** Regex of the queues the policy applies to. */
  pattern: string
  policyName: string
  connectTimeoutMs: number
  ndjson: boolean
}

/**
 * Declares the dead-letter exchange (topic, durable) and queue (durable, bound with `#`), then
 * applies the dead-letter policy through the management API, or prints the exact `rabbitmqctl`
 * command to run when the API cannot be reached (`setupDeadLettering` of `@am/bus-core`).
 */
export async function setupDlx(
  ctx: CliContext,
  args: SetupDlxArgs,
  options: SetupDlxOptions,
): Promise<DeadLetterSetup> {
  const out = options.ndjson ? ndjsonContext(ctx) : ctx
  const bus = await connectBus(out, args.url, { tool: 'setup-dlx', connectTimeoutMs: options.connectTimeoutMs })
  let result: DeadLetterSetup
  try {
    result = await setupDeadLettering(bus, args.url, {
      exchange: options.exchange,
      queue: options.queue,
      pattern: options.pattern,
      policyName: options.policyName,
      ...(options.managementUrl !== undefined ? { managementUrl: options.managementUrl } : {}),
    })
  } catch (error) {
    await bus.destroy()
    throw error
  }
  await bus.close()
  if (options.ndjson) writeNdjson(out, result)
  out.logger.success(
    `exchange ${result.exchange} (topic, durable) and queue ${result.queue} (durable, bound with #) are declared`,
  )
  if (result.policy === 'applied') {
    out.logger.success(
      `policy ${options.policyName} applied: queues matching ${options.pattern} dead-letter to ${result.exchange}`,
    )
  } else {
    out.logger.warn(`the policy could not be applied: ${redactUrl(result.reason ?? 'unknown reason')}`)
    out.logger.info('run this on a broker node (without it, rejected messages are discarded):')
    out.logger.log(`  ${result.command}`)
  }
  return result
}
