import { type CliContext, ndjsonContext, type PublishStatus, publishPayloadFile, writeNdjson } from '@am/cli-kit'
import type { ContentType } from '@am/codec'
import { configurationProperties, EXCHANGES } from '@am/protocol'

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

/**
 * Publishes one configuration message from a payload file, in the file's encoding, with the
 * properties eventail services use (persistent, empty conversation id: not the transient kombu
 * ones, T7, docs/eventail-defects.md) and `mandatory`, waits for the broker's confirm and closes the connection cleanly.
 */
export async function publishConfiguration(
  ctx: CliContext,
  args: PublishConfigurationArgs,
  options: PublishConfigurationOptions,
): Promise<PublishConfigurationResult> {
  const out = options.ndjson ? ndjsonContext(ctx) : ctx
  const { status, contentType } = await publishPayloadFile(out, args.url, {
    tool: 'publish-configuration',
    exchange: EXCHANGES.configurations,
    routingKey: args.name,
    payloadFile: args.payloadFile,
    properties: configurationProperties,
    timeoutMs: options.timeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.stdin ? { stdin: options.stdin } : {}),
  })
  const result: PublishConfigurationResult = { configuration: args.name, contentType, status }
  if (options.ndjson) writeNdjson(out, result)
  if (status === 'confirmed') {
    out.logger.success(`configuration ${args.name} published and confirmed by the broker (${contentType})`)
  } else if (status === 'unroutable') {
    out.logger.error(
      `no queue is bound for configuration ${args.name}: the broker returned it, no running service would receive it`,
    )
  } else out.logger.error(`the broker refused configuration ${args.name} (nack): a queue limit or a broker alarm`)
  return result
}
