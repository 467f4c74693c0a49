import { decode } from '@am/codec'
import { readDeaths } from './death.js'
import { headerText } from './headers.js'
import type { MessageKind } from './properties.js'

/** What the envelope checks read of a delivery (bus-core's `Delivery` is one). */
export interface DeliveryLike {
  readonly body: Buffer
  readonly exchange: string
  readonly routingKey: string
  readonly headers: Record<string, unknown>
  readonly properties: { readonly contentType?: unknown; readonly correlationId?: unknown; readonly replyTo?: unknown }
}

/** A message that passed the envelope checks. */
export interface Envelope {
  kind: MessageKind
  payload: unknown
  conversationId: string
  /** `''` when absent. */
  correlationId: string
  /** `''` when absent. */
  replyTo: string
  /** Result status (any non-empty string a foreign service sent); `''` for other kinds. */
  status: string
  /** Headers other than `conversation_id` (and `status` for commands and results). */
  headers: Record<string, unknown>
}

/** Why a message is refused; `log` is eventail's EMERGENCY text. */
export interface Refusal {
  reason: 'missing-conversation-id' | 'invalid-header' | 'undecodable' | 'invalid-envelope'
  log: string
  detail: string
  conversationId: string
}

/**
 * Checks and decodes a delivery that arrived on the queue of `origin` (the queue decides the kind,
 * not the delivery exchange: eventail's B14). Never throws: every failure is a `Refusal`.
 */
export function openEnvelope(
  delivery: DeliveryLike,
  origin: 'events' | 'commands' | 'configurations',
): Envelope | Refusal {
  const rk = routingKeyOf(delivery)
  const headers = { ...delivery.headers }
  const rawConversation = headers.conversation_id
  delete headers.conversation_id
  if (rawConversation === undefined && origin !== 'configurations') {
    return {
      reason: 'missing-conversation-id',
      log: `Missing headers on ${rk}`,
      detail: 'no conversation_id header',
      conversationId: '',
    }
  }
  const conversationId = rawConversation === undefined ? '' : headerText(rawConversation)
  if (conversationId === undefined) {
    return {
      reason: 'invalid-header',
      log: `Invalid conversation_id header on ${rk}; dead lettering.`,
      detail: `conversation_id must be a string, got ${describe(rawConversation)}`,
      conversationId: '',
    }
  }
  let payload: unknown
  try {
    payload =
      delivery.body.length === 0 ? null : decode(delivery.body, delivery.properties.contentType as string | undefined)
  } catch (error) {
    return {
      reason: 'undecodable',
      log: `Unable to decode payload for ${rk}; dead lettering.`,
      detail: (error as Error).message,
      conversationId,
    }
  }
  const correlationId = headerText(delivery.properties.correlationId) ?? ''
  const replyTo = headerText(delivery.properties.replyTo) ?? ''
  let kind: MessageKind
  let status = ''
  if (origin === 'commands') {
    const rawStatus = headers.status
    delete headers.status
    status = headerText(rawStatus) ?? ''
    if (replyTo) kind = 'command'
    else if (status) kind = 'result'
    else {
      return {
        reason: 'invalid-envelope',
        log: 'invalid enveloppe for command/result; dead lettering.',
        detail: `a message on the commands exchange needs reply_to (command) or a status header (result); routing key ${rk}`,
        conversationId,
      }
    }
  } else kind = origin === 'events' ? 'event' : 'configuration'
  return { kind, payload, conversationId, correlationId, replyTo, status, headers }
}

/**
 * The routing key a message was published with. A dead letter replayed straight into its queue
 * through the default exchange (`am-resurrect --to-queue`, or an AM Bus event in the default mode),
 * or a message back from a wait queue (delayed retries), arrives with the queue's name as routing
 * key: its original key is the first of the `routing-keys` of its newest `x-death` entry that was
 * not published through the default exchange (an entry made through the default exchange only
 * knows a queue name), else of its newest entry.
 */
export function routingKeyOf(delivery: DeliveryLike): string {
  if (delivery.exchange !== '') return delivery.routingKey
  const deaths = readDeaths(delivery.headers)
  const death = deaths.find((entry) => entry.exchange !== '') ?? deaths[0]
  return death?.routingKeys[0] ?? delivery.routingKey
}

/** Type guard: a refusal rather than an envelope. */
export function isRefusal(value: Envelope | Refusal): value is Refusal {
  return 'reason' in value
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value
}
