export { decode, encode } from './codec.js'
export type { ContentType } from './content-type.js'
export { CBOR, JSON_CONTENT_TYPE, parseContentType } from './content-type.js'
export type {
  CodecErrorCode,
  ContentTypeErrorCode,
  DecodeErrorCode,
  DecodeErrorOptions,
  EncodeErrorCode,
  EncodeErrorOptions,
} from './errors.js'
export { CodecError, ContentTypeError, DecodeError, EncodeError } from './errors.js'
