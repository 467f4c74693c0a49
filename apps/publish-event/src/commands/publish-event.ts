import { randomUUID } from 'node:crypto'
import { type CliContext, ndjsonContext, type PublishStatus, publishPayloadFile, writeNdjson } from '@am/cli-kit'
import type { ContentType } from '@am/codec'
import { EXCHANGES, eventProperties } from '@am/protocol'

/** Positional arguments of `am-publish-event`. */
export interface PublishEventArgs {
  url: string
  /** The event name, used as routing key on `events`. */
  event: string
  /** `*.json`, `*.cbor`, or `-` for JSON on stdin. */
  payloadFile: string
}

/** Options of `am-publish-event`. */
export interface PublishEventOptions {
  /** @default `debug-<uuid>` */
  conversationId?: string
  /** How long to wait for the broker's confirm, in ms. */
  timeoutMs: number
  connectTimeoutMs: number
  ndjson: boolean
  /** Where `-` reads from. @default process.stdin */
  stdin?: NodeJS.ReadableStream
}

/** What happened to the event; also the NDJSON line. */
export interface PublishEventResult {
  event: string
  conversationId: string
  contentType: ContentType
  status: PublishStatus
}

/**
 * Publishes one event from a payload file, in the file's encoding, with eventail's event
 * properties and `mandatory`, waits for the broker's confirm and closes the connection cleanly.
 */
export async function publishEvent(
  ctx: CliContext,
  args: PublishEventArgs,
  options: PublishEventOptions,
): Promise<PublishEventResult> {
  const out = options.ndjson ? ndjsonContext(ctx) : ctx
  const conversationId = options.conversationId ?? `debug-${randomUUID()}`
  const { status, contentType } = await publishPayloadFile(out, args.url, {
    tool: 'publish-event',
    exchange: EXCHANGES.events,
    routingKey: args.event,
    payloadFile: args.payloadFile,
    properties: (type) => eventProperties(conversationId, type),
    timeoutMs: options.timeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.stdin ? { stdin: options.stdin } : {}),
  })
  const result: PublishEventResult = { event: args.event, conversationId, contentType, status }
  if (options.ndjson) writeNdjson(out, result)
  if (status === 'confirmed') {
    out.logger.success(
      `event ${args.event} published and confirmed by the broker (conversation id ${conversationId}, ${contentType})`,
    )
  } else if (status === 'unroutable') {
    out.logger.error(`no queue is bound for ${args.event}: the broker returned the event, nobody would receive it`)
  } else out.logger.error(`the broker refused event ${args.event} (nack): a queue limit or a broker alarm`)
  return result
}
