import type { Delivery, FetchedMessage, MessageProperties } from '@am/bus-core'
import { decode, JSON_CONTENT_TYPE } from '@am/codec'
import { headerText, isRefusal, LEVELS, levelName, openEnvelope } from '@am/protocol'
import { readableHeaders } from './headers.js'

// The readable forms of a message, shared by the tools and am-console: a fetched message as
// am-inspect-queue shows it, a delivery classified as am-monitor does, a log as am-logger parses it.

/** One message as printed (and as an NDJSON line). */
export interface InspectedMessage {
  /** Position in the queue, from 1. */
  index: number
  exchange: string
  routingKey: string
  /** As the broker delivered it to the tool, i.e. before this inspection. */
  redelivered: boolean
  /** AMQP properties that are set, headers apart; `timestamp` in seconds as on the wire. */
  properties: Record<string, unknown>
  /** Headers with AMQP timestamps (`x-death[].time`) as dates. */
  headers: Record<string, unknown>
  /** The decoded payload; absent when the body cannot be decoded. */
  payload?: unknown
  /** Why the body cannot be decoded; `body` then holds its bytes. */
  payloadError?: string
  body?: Uint8Array
  /** The file written by `--save`. */
  savedAs?: string
}

/** The readable form of a fetched message; the body is decoded by its content type. */
export function describeFetched(index: number, message: FetchedMessage): InspectedMessage {
  const { headers = {}, ...rest } = message.properties as MessageProperties & { headers?: Record<string, unknown> }
  const properties: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) properties[key] = value
  const described: InspectedMessage = {
    index,
    exchange: message.fields.exchange,
    routingKey: message.fields.routingKey,
    redelivered: message.fields.redelivered,
    properties,
    headers: readableHeaders(headers),
  }
  const contentType = message.properties.contentType as string | undefined
  try {
    // Without a content type, eventail consumers read the body as JSON: show it as they see it.
    described.payload = decode(message.content, contentType ?? JSON_CONTENT_TYPE)
  } catch (error) {
    described.payloadError = (error as Error).message
    described.body = message.content
  }
  return described
}

/** The message kinds the monitor tells apart; `malformed` fails the envelope checks of its queue. */
export type MonitoredKind = 'event' | 'command' | 'result' | 'configuration' | 'malformed'

/** One message as printed (and as an NDJSON line). */
export interface MonitoredMessage {
  kind: MonitoredKind
  exchange: string
  routingKey: string
  conversationId: string
  correlationId: string
  replyTo: string
  status: string
  contentType: string | null
  /** Headers other than `conversation_id` (and `status` for commands and results). */
  headers: Record<string, unknown>
  /** The decoded payload; absent when the body cannot be decoded. */
  payload?: unknown
  /** For malformed messages: the queue it came from and why it fails the checks. */
  queue?: MonitoredOrigin
  reason?: string
  error?: string
  /** For undecodable bodies: the original bytes. */
  body?: Uint8Array
  /** The file written by `--save`. */
  savedAs?: string
}

/** The queue of the monitor a delivery arrived on: it decides the kind. */
export type MonitoredOrigin = 'events' | 'commands' | 'configurations'

/** Classifies a delivery by the queue it came from (docs/protocol.md#consuming-a-delivery, with the queue deciding: eventail's B14, docs/eventail-defects.md). */
export function describeDelivery(origin: MonitoredOrigin, delivery: Delivery): MonitoredMessage {
  const contentType = typeof delivery.properties.contentType === 'string' ? delivery.properties.contentType : null
  const { exchange, routingKey } = delivery
  const envelope = openEnvelope(delivery, origin)
  if (!isRefusal(envelope)) {
    return {
      kind: envelope.kind,
      exchange,
      routingKey,
      conversationId: envelope.conversationId,
      correlationId: envelope.correlationId,
      replyTo: envelope.replyTo,
      status: envelope.status,
      contentType,
      headers: envelope.headers,
      payload: envelope.payload,
    }
  }
  const headers = { ...delivery.headers }
  delete headers.conversation_id
  const message: MonitoredMessage = {
    kind: 'malformed',
    exchange,
    routingKey,
    conversationId: envelope.conversationId,
    correlationId: text(delivery.properties.correlationId),
    replyTo: text(delivery.properties.replyTo),
    status: text(headers.status),
    contentType,
    headers,
    queue: origin,
    reason: envelope.reason,
    error: envelope.detail,
  }
  try {
    message.payload = delivery.body.length === 0 ? null : decode(delivery.body, contentType ?? undefined)
  } catch (error) {
    message.body = delivery.body
    if (envelope.reason !== 'undecodable')
      message.error += `; the body cannot be decoded either: ${(error as Error).message}`
  }
  return message
}

/** One log as NDJSON: the parsed GELF object, or the raw text when it is not JSON. */
export interface LogLine {
  routingKey: string
  log: Record<string, unknown> | null
  raw?: string
}

/** A log as am-logger reads it: GELF JSON, else its text. */
export function parseLog(routingKey: string, body: Buffer): LogLine {
  const text = body.toString('utf8')
  try {
    const log: unknown = JSON.parse(text)
    if (typeof log === 'object' && log !== null && !Array.isArray(log)) {
      return { routingKey, log: log as Record<string, unknown> }
    }
  } catch {
    // not JSON: shown as text below
  }
  return { routingKey, log: null, raw: text }
}

/** The GELF `level`, or the level named by the routing key's suffix (`svc.WARNING`). */
export function logLevelOf(line: LogLine): number | undefined {
  const level = line.log?.level
  if (typeof level === 'number' && Number.isInteger(level) && level >= 0 && level <= 7) return level
  const suffix = line.routingKey.slice(line.routingKey.lastIndexOf('.') + 1)
  const name = levelName(suffix)
  return name === undefined ? undefined : LEVELS[name]
}

function text(value: unknown): string {
  return headerText(value) ?? ''
}
