import { decodeCbor } from './cbor-decode.js'
import { encodeCbor } from './cbor-encode.js'
import { CBOR, type ContentType, parseContentType } from './content-type.js'
import { DecodeError } from './errors.js'
import { decodeJson } from './json-decode.js'
import { encodeJson } from './json-encode.js'

/**
 * Encodes a message body: CBOR byte-compatible with eventail's cbor2 encoder, or compact UTF-8
 * JSON. Returns a `Buffer` (what amqplib publishes).
 *
 * Data model: `null`, booleans, numbers (integral ones within ±(2^53 - 1) as integers, the rest
 * as float64), bigints, strings, `Uint8Array` (CBOR only), arrays, plain objects (properties
 * whose value is `undefined` are left out), `Map` (any keys in CBOR, string keys in JSON) and
 * `Date`. Anything else is refused rather than guessed at.
 *
 * @param contentType `application/cbor` (the default) or `application/json`, parameters allowed.
 * @throws {EncodeError} when the value is outside the data model of the content type.
 * @throws {ContentTypeError} when `contentType` is neither CBOR nor JSON.
 * @example
 * channel.publish('events', 'order.placed', encode({ id, at: Date.now() }), { contentType: CBOR })
 */
export function encode(value: unknown, contentType: ContentType | string = CBOR): Buffer {
  if (contentType === CBOR) return encodeCbor(value)
  return parseContentType(contentType) === CBOR ? encodeCbor(value) : encodeJson(value)
}

/**
 * Decodes a message body according to its content type, strictly: the body must hold exactly
 * one valid item, with nothing before or after it. An empty body decodes to `null` (eventail
 * hands `None` to the handler for it).
 *
 * CBOR integers within ±(2^53 - 1) give numbers, larger ones bigints; text-keyed maps give plain
 * objects, other maps give `Map`; byte strings give `Uint8Array`; tags 0/1 give `Date`.
 *
 * @param contentType the message's `content-type` property, e.g. `msg.properties.contentType`.
 * @throws {DecodeError} when the body is not one valid item; dead-letter the message.
 * @throws {ContentTypeError} when the content type is missing or neither CBOR nor JSON.
 * @example
 * const payload = decode(msg.content, msg.properties.contentType)
 */
export function decode(body: Uint8Array, contentType: string | undefined): unknown {
  const type = contentType === CBOR ? CBOR : parseContentType(contentType)
  if (!(body instanceof Uint8Array)) {
    throw new DecodeError('DECODE_INVALID_INPUT', `the body must be a Uint8Array or Buffer, not ${typeof body}`)
  }
  if (body.length === 0) return null
  return type === CBOR ? decodeCbor(body) : decodeJson(body)
}
