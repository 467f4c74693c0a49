import type { PublishOptions } from '@am/bus-core'
import { type ContentType, encode } from '@am/codec'
import { ServiceError } from './errors.js'

const BRAND: unique symbol = Symbol.for('@am/service.RawBody')

/**
 * A body sent as it is: its bytes and content type go out unchanged, never decoded nor encoded.
 * Made by {@link rawBody}; `ctx.raw` is the one of the message a handler handles.
 */
export interface RawBody {
  readonly [BRAND]: true
  /** The bytes, published as they are. */
  readonly body: Uint8Array
  /** The content type published with them; `''` when the message had none (then sent without one). */
  readonly contentType: string
}

/**
 * Wraps bytes and their content type so that a publish method (`publishEvent`, `sendCommand`,
 * `returnSuccess`, `returnError`, `publishConfiguration`, `request`, and those of a handler's
 * context) sends them byte for byte instead of encoding a payload: the way to forward a body
 * exactly, e.g. a Python float `1.0` that would come back as the integer `1` once decoded.
 * @example
 * // a relay that changes nothing in the body
 * OrderPlaced: (_order, ctx) => ctx.publishEvent('OrderRelayed', ctx.raw)
 * // bytes from elsewhere
 * service.publishEvent('Stored', rawBody(bytes, 'application/cbor'), { conversationId })
 */
export function rawBody(body: Uint8Array, contentType: string): RawBody {
  if (!(body instanceof Uint8Array)) {
    throw new ServiceError('SERVICE_INVALID', 'rawBody needs the bytes as a Uint8Array or a Buffer')
  }
  if (typeof contentType !== 'string') {
    throw new ServiceError('SERVICE_INVALID', "rawBody needs the content type, e.g. 'application/cbor'")
  }
  return Object.freeze({ [BRAND]: true as const, body, contentType })
}

/** True for a value made by {@link rawBody} (in this or another copy of the package). */
export function isRawBody(value: unknown): value is RawBody {
  return typeof value === 'object' && value !== null && (value as Partial<RawBody>)[BRAND] === true
}

/** The body as a Buffer, without copying. */
export function rawBuffer(raw: RawBody): Buffer {
  const { body } = raw
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
}

/**
 * The properties and body of a publish of `payload`: a raw body goes as it is, with its own content
 * type (none when it had none); any other payload is encoded with the content type of `given`.
 * @internal
 */
export function outgoing(payload: unknown, given: PublishOptions): { properties: PublishOptions; body: Buffer } {
  if (isRawBody(payload)) {
    return { properties: { ...given, contentType: payload.contentType || undefined }, body: rawBuffer(payload) }
  }
  return { properties: given, body: encode(payload, given.contentType as ContentType) }
}
