import { CBOR, type ContentType } from '@am/codec'

/** The four business message kinds. */
export type MessageKind = 'event' | 'command' | 'result' | 'configuration'

/** Status header of a result. */
export type ResultStatus = 'success' | 'error'

/** The AMQP properties a message of one kind is published with (assignable to bus-core's `PublishOptions`). */
export interface KindProperties {
  contentType: ContentType
  headers: Record<string, unknown>
  /** Always 2: persistent. */
  deliveryMode: 2
  /** `''` when the kind has none: eventail sends it even empty. */
  correlationId: string
  /** `''` when the kind has none: eventail sends it even empty. */
  replyTo: string
}

// Properties exactly as eventail sends them: persistent, content type, headers, correlation_id and
// reply_to present even when empty (property flags 0xB600).

/** AMQP properties of an event. */
export function eventProperties(conversationId: string, contentType: ContentType = CBOR): KindProperties {
  return {
    contentType,
    headers: { conversation_id: conversationId },
    deliveryMode: 2,
    correlationId: '',
    replyTo: '',
  }
}

/** AMQP properties of a command. */
export function commandProperties(
  conversationId: string,
  replyTo: string,
  correlationId: string,
  contentType: ContentType = CBOR,
): KindProperties {
  return { contentType, headers: { conversation_id: conversationId }, deliveryMode: 2, correlationId, replyTo }
}

/** AMQP properties of a result: headers `status` then `conversation_id`, as eventail orders them. */
export function resultProperties(
  conversationId: string,
  status: ResultStatus,
  correlationId: string,
  contentType: ContentType = CBOR,
): KindProperties {
  return {
    contentType,
    headers: { status, conversation_id: conversationId },
    deliveryMode: 2,
    correlationId,
    replyTo: '',
  }
}

/** AMQP properties of a configuration message (empty conversation id). */
export function configurationProperties(contentType: ContentType = CBOR): KindProperties {
  return { contentType, headers: { conversation_id: '' }, deliveryMode: 2, correlationId: '', replyTo: '' }
}
