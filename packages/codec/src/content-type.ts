import { ContentTypeError } from './errors.js'

/** Content type of CBOR bodies (RFC 8949), eventail's default encoding. */
export const CBOR = 'application/cbor'

/** Content type of JSON bodies (RFC 8259, UTF-8). */
export const JSON_CONTENT_TYPE = 'application/json'

/** The two body encodings of the bus. */
export type ContentType = typeof CBOR | typeof JSON_CONTENT_TYPE

const TOKEN = String.raw`[!#$%&'*+.^_\`|~0-9A-Za-z-]+`
const QUOTED = String.raw`"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"`
const MEDIA_TYPE = new RegExp(String.raw`[ \t]*(${TOKEN})/(${TOKEN})`, 'y')
// RFC 9110 §5.6.6: parameters = *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] )
const PARAMETER = new RegExp(String.raw`[ \t]*;[ \t]*(?:(${TOKEN})=(?:(${TOKEN})|${QUOTED}))?`, 'y')
const TRAILING_SPACE = /[ \t]*/y
const UTF8_LABELS = new Set(['utf-8', 'utf8'])

/**
 * Parses a content-type header into one of the two supported content types (RFC 9110 media type:
 * type and subtype case-insensitive, optional whitespace, parameters).
 *
 * `application/cbor` ignores its parameters; `application/json` accepts only a `charset` of
 * UTF-8 (JSON is UTF-8, RFC 8259 §8.1). eventail parsed every content type other than exactly
 * `application/cbor` as JSON, a missing one included (defect B4, docs/eventail-defects.md); this refuses instead.
 *
 * @throws {ContentTypeError} `CONTENT_TYPE_MISSING` when `header` is undefined or blank,
 *   `CONTENT_TYPE_UNSUPPORTED` for anything else that is not CBOR or UTF-8 JSON.
 * @example
 * parseContentType('Application/JSON; charset="UTF-8"') // 'application/json'
 */
export function parseContentType(header: string | undefined): ContentType {
  if (header === CBOR || header === JSON_CONTENT_TYPE) return header
  if (header === undefined || header === null || (typeof header === 'string' && header.trim() === '')) {
    throw new ContentTypeError(
      'CONTENT_TYPE_MISSING',
      'the message has no content type: the publisher must set it to application/cbor or application/json',
    )
  }
  if (typeof header !== 'string') throw unsupported(String(header), 'it is not a string')

  MEDIA_TYPE.lastIndex = 0
  const media = MEDIA_TYPE.exec(header)
  if (!media) throw unsupported(header, 'it is not a media type (type/subtype)')
  const type = `${media[1]}/${media[2]}`.toLowerCase()
  let charset: string | undefined
  let index = MEDIA_TYPE.lastIndex
  for (;;) {
    PARAMETER.lastIndex = index
    const parameter = PARAMETER.exec(header)
    if (!parameter) break
    index = PARAMETER.lastIndex
    if (parameter[1]?.toLowerCase() === 'charset' && charset === undefined) {
      charset = parameter[2] ?? parameter[3]?.replace(/\\(.)/g, '$1') ?? ''
    }
  }
  TRAILING_SPACE.lastIndex = index
  TRAILING_SPACE.test(header)
  if (TRAILING_SPACE.lastIndex !== header.length) throw unsupported(header, 'its parameters are malformed')

  if (type === CBOR) return CBOR
  if (type === JSON_CONTENT_TYPE) {
    if (charset !== undefined && !UTF8_LABELS.has(charset.toLowerCase())) {
      throw unsupported(header, `JSON bodies must be UTF-8 (RFC 8259), not charset=${charset}`)
    }
    return JSON_CONTENT_TYPE
  }
  throw unsupported(header, 'the bus carries only application/cbor and application/json bodies')
}

function unsupported(header: string, reason: string): ContentTypeError {
  return new ContentTypeError(
    'CONTENT_TYPE_UNSUPPORTED',
    `unsupported content type ${JSON.stringify(header)}: ${reason}; use application/cbor or application/json`,
  )
}
