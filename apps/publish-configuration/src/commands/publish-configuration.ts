import { defineTopology, EXCHANGES } from '@am/bus-core'
import {
  type CliContext,
  connectBus,
  ndjsonContext,
  type PublishStatus,
  publishMandatory,
  readPayload,
  writeNdjson,
} from '@am/cli-kit'
import type { ContentType } from '@am/codec'
import { configurationProperties } from '@am/service'

/** Positional arguments of `am-publish-configuration`. */
export interface PublishConfigurationArgs {
  url: string
  /** The configuration name, used as routing key on `configurations`. */
  name: string
  /** `*.json`, `*.cbor`, or `-` for JSON on stdin. */
  payloadFile: string
}

/** Options of `am-publish-configuration`. */
export interface PublishConfigurationOptions {
  /** How long to wait for the broker's confirm, in ms. */
  timeoutMs: number
  connectTimeoutMs: number
  ndjson: boolean
  /** Where `-` reads from. @default process.stdin */
  stdin?: NodeJS.ReadableStream
}

/** What happened to the configuration message; also the NDJSON line. */
export interface PublishConfigurationResult {
  configuration: string
  contentType: ContentType
  status: PublishStatus
}

const TOPOLOGY = defineTopology({ exchanges: [{ name: EXCHANGES.configurations, type: 'topic' }] })

/**
 * Publishes one configuration message from a payload file, in the file's encoding, with the
 * properties eventail services use (persistent, empty conversation id: not the transient kombu
 * ones, T7) and `mandatory`, waits for the broker's confirm and closes the connection cleanly.
 */
export async function publishConfiguration(
  ctx: CliContext,
  args: PublishConfigurationArgs,
  options: PublishConfigurationOptions,
): Promise<PublishConfigurationResult> {
  const out = options.ndjson ? ndjsonContext(ctx) : ctx
  const payload = await readPayload(args.payloadFile, options.stdin ?? process.stdin)
  const bus = await connectBus(out, args.url, {
    tool: 'publish-configuration',
    topology: TOPOLOGY,
    connectTimeoutMs: options.connectTimeoutMs,
  })
  let status: PublishStatus
  try {
    status = await publishMandatory(
      bus,
      EXCHANGES.configurations,
      args.name,
      payload.bytes,
      configurationProperties(payload.contentType),
      { signal: ctx.signal, timeoutMs: options.timeoutMs },
    )
  } catch (error) {
    await bus.destroy()
    throw error
  }
  await bus.close()
  const result: PublishConfigurationResult = { configuration: args.name, contentType: payload.contentType, status }
  if (options.ndjson) writeNdjson(out, result)
  if (status === 'confirmed') {
    out.logger.success(`configuration ${args.name} published and confirmed by the broker (${payload.contentType})`)
  } else if (status === 'unroutable') {
    out.logger.error(
      `no queue is bound for configuration ${args.name}: the broker returned it, no running service would receive it`,
    )
  } else out.logger.error(`the broker refused configuration ${args.name} (nack): a queue limit or a broker alarm`)
  return result
}
