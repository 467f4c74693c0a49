import { defineTopology, PublishError, type PublishOptions, type Supervisor } from '@am/bus-core'
import type { ContentType } from '@am/codec'
import { connectBus } from './connect.js'
import type { CliContext } from './context.js'
import { CliError } from './errors.js'
import { readPayload } from './payload.js'
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

/** Options of `publishPayloadFile`. */
export interface PublishPayloadFileOptions {
  /** The tool's name without `am-` (`publish-event`), for the connection name. */
  tool: string
  /** A topic exchange; declared (durable) when missing. */
  exchange: string
  routingKey: string
  /** `*.json`, `*.cbor`, or `-` for JSON on `stdin`. */
  payloadFile: string
  /** The message properties, for the payload's content type. */
  properties: (contentType: ContentType) => PublishOptions
  /** How long to wait for the broker's confirm, in ms. */
  timeoutMs: number
  /** How long to wait for the broker, in ms. */
  connectTimeoutMs: number
  /** Where `-` reads from. @default process.stdin */
  stdin?: NodeJS.ReadableStream
}

/**
 * Publishes one payload file as it is (its bytes, in its encoding) with `mandatory`, waits for
 * the broker's confirm and closes the connection cleanly. The file is read before connecting, so
 * a bad payload is a usage error without a broker.
 * @throws {CliError} what `readPayload`, `connectBus` and `publishMandatory` throw.
 */
export async function publishPayloadFile(
  ctx: CliContext,
  url: string,
  options: PublishPayloadFileOptions,
): Promise<{ status: PublishStatus; contentType: ContentType }> {
  const payload = await readPayload(options.payloadFile, options.stdin ?? process.stdin)
  const bus = await connectBus(ctx, url, {
    tool: options.tool,
    topology: defineTopology({ exchanges: [{ name: options.exchange, type: 'topic' }] }),
    connectTimeoutMs: options.connectTimeoutMs,
  })
  let status: PublishStatus
  try {
    status = await publishMandatory(
      bus,
      options.exchange,
      options.routingKey,
      payload.bytes,
      options.properties(payload.contentType),
      { signal: ctx.signal, timeoutMs: options.timeoutMs },
    )
  } catch (error) {
    await bus.destroy()
    throw error
  }
  await bus.close()
  return { status, contentType: payload.contentType }
}
