import { AmError, type AmErrorOptions } from '@am/errors'

/** Codes of {@link ContentTypeError}. */
export type ContentTypeErrorCode =
  /** The message has no content type (or an empty one). */
  | 'CONTENT_TYPE_MISSING'
  /** The content type is malformed, is neither CBOR nor JSON, or names a charset other than UTF-8 for JSON. */
  | 'CONTENT_TYPE_UNSUPPORTED'

/** Codes of {@link DecodeError}. */
export type DecodeErrorCode =
  /** The body is not a `Uint8Array`. */
  | 'DECODE_INVALID_INPUT'
  /** The body ends in the middle of an item, or a length claims more bytes than the body has. */
  | 'DECODE_TRUNCATED'
  /** Bytes follow the first complete CBOR item. */
  | 'DECODE_TRAILING_BYTES'
  /** Not well-formed CBOR: reserved header values, a break outside an indefinite-length item, bad chunks. */
  | 'DECODE_INVALID_CBOR'
  /** Not RFC 8259 JSON (Python's `NaN`/`Infinity`/`-Infinity` aside): syntax error, a byte order mark, a UTF-16 body. */
  | 'DECODE_INVALID_JSON'
  /** A CBOR text string or a JSON body is not valid UTF-8. */
  | 'DECODE_INVALID_UTF8'
  /** A CBOR tag other than 0, 1 (dates), 2, 3 (bignums) and 55799 (self-describe). */
  | 'DECODE_UNSUPPORTED_TAG'
  /** A CBOR simple value other than false, true and null (`undefined` included). */
  | 'DECODE_UNSUPPORTED_VALUE'
  /** A tag 0/1 date whose content is not an RFC 3339 text or a finite epoch within the Date range. */
  | 'DECODE_INVALID_DATE'
  /** Arrays, maps and tags nested deeper than the limit (1000). */
  | 'DECODE_TOO_DEEP'

/** Codes of {@link EncodeError}. */
export type EncodeErrorCode =
  /** A value outside the data model: top-level `undefined`, functions, symbols, class instances, typed arrays other than `Uint8Array`, `Set`… */
  | 'ENCODE_UNSUPPORTED_VALUE'
  /** `NaN` or ±`Infinity` in JSON (valid in CBOR). */
  | 'ENCODE_NON_FINITE'
  /** A `Uint8Array`/`Buffer` in JSON (valid in CBOR). */
  | 'ENCODE_BYTES_IN_JSON'
  /** A `Map` key that is not a string, in JSON (valid in CBOR). */
  | 'ENCODE_NON_STRING_KEY'
  /** A string with a lone UTF-16 surrogate, which has no UTF-8 form. */
  | 'ENCODE_INVALID_STRING'
  /** An invalid `Date`, or one outside the years 1–9999 that Python's `datetime` can hold. */
  | 'ENCODE_INVALID_DATE'
  /** The value contains itself. */
  | 'ENCODE_CIRCULAR'
  /** Arrays, maps and objects nested deeper than the limit (1000). */
  | 'ENCODE_TOO_DEEP'

/** Every code a {@link CodecError} can carry. */
export type CodecErrorCode = ContentTypeErrorCode | DecodeErrorCode | EncodeErrorCode

/** Base class of every error thrown by `@am/codec`. */
export class CodecError<Code extends CodecErrorCode = CodecErrorCode> extends AmError<Code> {}

/** A content type that is missing or that the codec does not handle. */
export class ContentTypeError extends CodecError<ContentTypeErrorCode> {}

/** Options of {@link DecodeError}. */
export interface DecodeErrorOptions extends AmErrorOptions {
  /** Byte offset in the body where the problem was found. */
  offset?: number
}

/**
 * A body that is not exactly one valid item of its content type. A consumer should reject such a
 * message without requeue (dead-letter it): redelivering it cannot succeed.
 */
export class DecodeError extends CodecError<DecodeErrorCode> {
  /** Byte offset in the body where the problem was found, when known. */
  readonly offset: number | undefined

  constructor(code: DecodeErrorCode, message: string, options: DecodeErrorOptions = {}) {
    super(code, message, options)
    this.offset = options.offset
  }
}

/** Options of {@link EncodeError}. */
export interface EncodeErrorOptions extends AmErrorOptions {
  /** Where the offending value sits in the encoded value, e.g. `$.items[3].price`. */
  path?: string
}

/** A value that cannot be encoded in the requested content type; nothing was sent. */
export class EncodeError extends CodecError<EncodeErrorCode> {
  /** Where the offending value sits in the encoded value, e.g. `$.items[3].price` (`$` is the value itself). */
  readonly path: string | undefined

  constructor(code: EncodeErrorCode, message: string, options: EncodeErrorOptions = {}) {
    super(code, message, options)
    this.path = options.path
  }
}
