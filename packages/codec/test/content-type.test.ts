import { describe, expect, it } from 'vitest'
import {
  CBOR,
  ContentTypeError,
  type ContentTypeErrorCode,
  decode,
  encode,
  JSON_CONTENT_TYPE,
  parseContentType,
} from '../src/index.js'

describe('parseContentType', () => {
  it.each([
    ['application/cbor', CBOR],
    ['application/json', JSON_CONTENT_TYPE],
    ['Application/CBOR', CBOR],
    ['APPLICATION/JSON', JSON_CONTENT_TYPE],
    ['  application/json  ', JSON_CONTENT_TYPE],
    ['\tapplication/cbor', CBOR],
    ['application/json; charset=utf-8', JSON_CONTENT_TYPE],
    ['application/json;charset=UTF-8', JSON_CONTENT_TYPE],
    ['application/json ; Charset="utf-8"', JSON_CONTENT_TYPE],
    ['application/json; charset=utf8', JSON_CONTENT_TYPE],
    ['application/json; foo=bar; charset=utf-8', JSON_CONTENT_TYPE],
    ['application/json;', JSON_CONTENT_TYPE],
    ['application/cbor; foo=bar', CBOR],
    ['application/cbor; charset=latin1', CBOR], // parameters of cbor are ignored
    ['application/cbor; x="quoted \\"value\\"; with semicolon"', CBOR],
    ['application/cbor;;', CBOR],
  ] as const)('reads %j as %s', (header, expected) => {
    expect(parseContentType(header)).toBe(expected)
  })

  it.each([
    [undefined, 'CONTENT_TYPE_MISSING'],
    ['', 'CONTENT_TYPE_MISSING'],
    ['   ', 'CONTENT_TYPE_MISSING'],
    ['text/plain', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/octet-stream', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/vnd.api+json', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/cbor-seq', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/', 'CONTENT_TYPE_UNSUPPORTED'],
    ['/json', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/json charset=utf-8', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/json; charset', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/json; charset=', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/json; charset="utf-8', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/json; charset=utf-16', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/json; charset=iso-8859-1', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/json; charset="UTF-16LE"', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/cbor, application/json', 'CONTENT_TYPE_UNSUPPORTED'],
    ['application/cbör', 'CONTENT_TYPE_UNSUPPORTED'],
  ] as const)('refuses %j with %s', (header, code: ContentTypeErrorCode) => {
    expect(() => parseContentType(header)).toThrowError(expect.objectContaining({ name: 'ContentTypeError', code }))
  })

  it('says what to do', () => {
    expect(() => parseContentType(undefined)).toThrowErrorMatchingInlineSnapshot(
      `[ContentTypeError: the message has no content type: the publisher must set it to application/cbor or application/json]`,
    )
    expect(() => parseContentType('application/json; charset=latin1')).toThrowErrorMatchingInlineSnapshot(
      `[ContentTypeError: unsupported content type "application/json; charset=latin1": JSON bodies must be UTF-8 (RFC 8259), not charset=latin1; use application/cbor or application/json]`,
    )
  })
})

describe('content type of encode and decode', () => {
  it('encodes CBOR by default and JSON on request, parameters allowed', () => {
    expect(encode({ a: 1 }).toString('hex')).toBe('a1616101')
    expect(encode({ a: 1 }, 'Application/JSON; charset=utf-8').toString()).toBe('{"a":1}')
  })

  it('refuses to guess a decoder for a missing or unknown content type (eventail B4)', () => {
    const body = Buffer.from('{"a":1}')
    expect(() => decode(body, undefined)).toThrowError(expect.objectContaining({ code: 'CONTENT_TYPE_MISSING' }))
    expect(() => decode(body, 'text/plain')).toThrowError(expect.objectContaining({ code: 'CONTENT_TYPE_UNSUPPORTED' }))
    expect(() => encode(1, 'text/plain')).toThrowError(ContentTypeError)
  })

  it('decodes with a parameterised content type', () => {
    expect(decode(Buffer.from('a1616101', 'hex'), 'application/cbor; foo=bar')).toEqual({ a: 1 })
    expect(decode(Buffer.from('{"a":1}'), 'application/json;charset="UTF-8"')).toEqual({ a: 1 })
  })
})
