import { describe, expect, it } from 'vitest'
import {
  DecodeError,
  type DecodeErrorCode,
  decode,
  EncodeError,
  type EncodeErrorCode,
  encode,
  JSON_CONTENT_TYPE,
} from '../src/index.js'

const toJson = (value: unknown): string => encode(value, JSON_CONTENT_TYPE).toString('utf8')
const fromJson = (text: string | Buffer): unknown =>
  decode(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, JSON_CONTENT_TYPE)

function errorOf(run: () => unknown): DecodeError | EncodeError {
  try {
    run()
  } catch (error) {
    if (error instanceof DecodeError || error instanceof EncodeError) return error
    throw error
  }
  throw new Error('no error')
}

describe('encode JSON', () => {
  it('writes compact UTF-8 with raw non-ASCII and the escapes JSON needs', () => {
    const bytes = encode({ text: 'héllo ☃ 𝄞', q: '"\\\n\u0001', n: [1, -7, 1.5] }, JSON_CONTENT_TYPE)
    expect(bytes.toString('utf8')).toBe('{"text":"héllo ☃ 𝄞","q":"\\"\\\\\\n\\u0001","n":[1,-7,1.5]}')
    expect(bytes.includes(Buffer.from('f09d849e', 'hex'))).toBe(true)
  })

  it.each([
    [
      'a bigint as its exact digits',
      { big: 2n ** 64n, neg: -(2n ** 70n) },
      '{"big":18446744073709551616,"neg":-1180591620717411303424}',
    ],
    [
      'a Map with string keys as an object, in insertion order',
      new Map([
        ['b', 1],
        ['1', 2],
      ]),
      '{"b":1,"1":2}',
    ],
    [
      'a Date as the RFC 3339 text of CBOR tag 0',
      [new Date('2020-01-02T03:04:05.120Z')],
      '["2020-01-02T03:04:05.120000Z"]',
    ],
    ['-0 with its sign, as Python writes it', [-0, 0], '[-0.0,0]'],
    [
      'an integral float beyond 2^53 as a float',
      [2 ** 60, 1e300, -(2 ** 53)],
      '[1152921504606847000.0,1e+300,-9007199254740992.0]',
    ],
    ['undefined as JSON.stringify does', { a: undefined, b: [undefined] }, '{"b":[null]}'],
    [
      'a Map entry with an undefined value left out',
      new Map([
        ['a', undefined],
        ['b', 1],
      ]),
      '{"b":1}',
    ],
    ['an own "__proto__" key', JSON.parse('{"__proto__":{"x":1}}') as unknown, '{"__proto__":{"x":1}}'],
  ])('writes %s', (_what, value, expected) => {
    expect(toJson(value)).toBe(expected)
  })

  it('writes what JSON.stringify writes for plain data', () => {
    const value = { a: [1, 2.5, 'x', null, true, { b: 'é' }], c: {}, d: [] }
    expect(toJson(value)).toBe(JSON.stringify(value))
  })

  class Money {
    toJSON(): string {
      return '1 EUR'
    }
  }
  const circular: Record<string, unknown> = {}
  circular.self = circular
  it.each([
    ['NaN', { x: Number.NaN }, 'ENCODE_NON_FINITE', '$.x'],
    ['Infinity', [Number.POSITIVE_INFINITY], 'ENCODE_NON_FINITE', '$[0]'],
    ['-Infinity in a Map', new Map([['m', Number.NEGATIVE_INFINITY]]), 'ENCODE_NON_FINITE', '$.get("m")'],
    ['bytes', { audio: Buffer.from('ID3') }, 'ENCODE_BYTES_IN_JSON', '$.audio'],
    ['a Uint8Array', new Uint8Array(2), 'ENCODE_BYTES_IN_JSON', '$'],
    ['a Map with a number key', new Map([[1, 'a']]), 'ENCODE_NON_STRING_KEY', '$.get(1)'],
    ['a function that JSON.stringify would drop', { f: () => 1 }, 'ENCODE_UNSUPPORTED_VALUE', '$.f'],
    ['a symbol', [Symbol('s')], 'ENCODE_UNSUPPORTED_VALUE', '$[0]'],
    ['a class instance with toJSON', { m: new Money() }, 'ENCODE_UNSUPPORTED_VALUE', '$.m'],
    ['undefined at the top', undefined, 'ENCODE_UNSUPPORTED_VALUE', '$'],
    ['a lone surrogate', { s: '\ud800' }, 'ENCODE_INVALID_STRING', '$.s'],
    ['a lone surrogate in a key', { '\udfff': 1 }, 'ENCODE_INVALID_STRING', '$["\\udfff"]'],
    ['an invalid Date', { d: new Date(Number.NaN) }, 'ENCODE_INVALID_DATE', '$.d'],
    ['a circular value', circular, 'ENCODE_CIRCULAR', '$.self'],
  ] as const)('refuses %s', (_what, value, code: EncodeErrorCode, path) => {
    const error = errorOf(() => encode(value, JSON_CONTENT_TYPE)) as EncodeError
    expect([error.name, error.code, error.path]).toEqual(['EncodeError', code, path])
  })

  it('refuses a bigint or a Map in a value too deep, checked by the slow writer', () => {
    let value: unknown = [1n]
    for (let i = 0; i < 1000; i++) value = [value]
    expect(errorOf(() => encode(value, JSON_CONTENT_TYPE)).code).toBe('ENCODE_TOO_DEEP')
  })

  it('says what to do', () => {
    expect(() => encode({ ratio: Number.NaN }, JSON_CONTENT_TYPE)).toThrowErrorMatchingInlineSnapshot(
      `[EncodeError: JSON has no NaN: send null, or use application/cbor, which carries NaN and ±Infinity (at $.ratio)]`,
    )
  })
})

describe('decode JSON', () => {
  it.each([
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['9007199254740992', 2n ** 53n],
    ['-9007199254740993', -(2n ** 53n) - 1n],
    ['12345678901234567890', 12345678901234567890n],
    ['1234567890123456.5', 1234567890123456.5],
    ['1e300', 1e300],
    ['1e400', Number.POSITIVE_INFINITY],
    [`-1${'0'.repeat(400)}`, -(10n ** 400n)],
    ['-0', -0],
    ['-0.0', -0],
    ['1.0', 1],
  ])('reads %s exactly', (text, expected) => {
    expect(fromJson(text)).toStrictEqual(expected)
  })

  it('reads NaN, Infinity and -Infinity as Python json.dumps writes them', () => {
    expect([fromJson('NaN'), fromJson('Infinity'), fromJson('-Infinity')]).toStrictEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ])
    expect(fromJson('{"a": NaN, "b": [Infinity, -Infinity, 1.5], "c": {"d": NaN}}')).toStrictEqual({
      a: Number.NaN,
      b: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5],
      c: { d: Number.NaN },
    })
  })

  it('keeps NaN and Infinity inside strings as text', () => {
    expect(fromJson('{"NaN": "Infinity", "x": "-Infinity"}')).toStrictEqual({ NaN: 'Infinity', x: '-Infinity' })
  })

  it('reads a big integer next to NaN exactly', () => {
    expect(fromJson('[NaN, 12345678901234567890]')).toStrictEqual([Number.NaN, 12345678901234567890n])
  })

  it('keeps everything else intact when a big integer takes the exact parser', () => {
    const text =
      '{"id": 18446744073709551616, "list": [1, -2.5e-3, "a\\"b\\\\\\u00e9\\ud83d\\ude00", true, false, null, {}, []],' +
      ' "é": {"__proto__": {"polluted": 1}, "k": 1, "k": 2}, "small": -9007199254740991, "digits": "12345678901234567890"}'
    const value = fromJson(text) as Record<string, unknown>
    expect(value).toStrictEqual({
      id: 2n ** 64n,
      list: [1, -2.5e-3, 'a"b\\é😀', true, false, null, {}, []],
      é: Object.defineProperty({ k: 2 }, '__proto__', {
        value: { polluted: 1 },
        writable: true,
        enumerable: true,
        configurable: true,
      }),
      small: -Number.MAX_SAFE_INTEGER,
      digits: '12345678901234567890',
    })
    expect(Object.getPrototypeOf(value.é)).toBe(Object.prototype)
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
  })

  it('reads "__proto__" as an own property on the fast path too', () => {
    const value = fromJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.keys(value)).toEqual(['__proto__'])
  })

  it('keeps the last of duplicate keys on both paths', () => {
    expect(fromJson('{"a": 1, "a": 2}')).toStrictEqual({ a: 2 })
    expect(fromJson('{"a": 1, "a": 2, "b": 99999999999999999999}')).toStrictEqual({ a: 2, b: 99999999999999999999n })
  })

  it('accepts 1000 levels of nesting', () => {
    expect(fromJson(`${'['.repeat(1000)}${']'.repeat(1000)}`)).toBeInstanceOf(Array)
  })

  const deep = (levels: number, core = '0'): string => `${'['.repeat(levels)}${core}${']'.repeat(levels)}`
  it.each([
    ['BOM', Buffer.from('efbbbf7b7d', 'hex'), 'DECODE_INVALID_JSON'],
    ['UTF-16LE without BOM', Buffer.from('{"a":1}', 'utf16le'), 'DECODE_INVALID_JSON'],
    ['UTF-16LE with BOM', Buffer.from('fffe7b007d00', 'hex'), 'DECODE_INVALID_UTF8'],
    ['UTF-16BE with BOM', Buffer.from('feff007b007d', 'hex'), 'DECODE_INVALID_UTF8'],
    ['Latin-1', Buffer.from('"caf\xe9"', 'latin1'), 'DECODE_INVALID_UTF8'],
    ['a UTF-8 encoded surrogate', Buffer.from('22eda08022', 'hex'), 'DECODE_INVALID_UTF8'],
    ['-NaN (Python refuses it too)', '[-NaN]', 'DECODE_INVALID_JSON'],
    ['+Infinity', '[+Infinity]', 'DECODE_INVALID_JSON'],
    ['lower-case nan', '{"a": nan}', 'DECODE_INVALID_JSON'],
    ['inf', '[inf]', 'DECODE_INVALID_JSON'],
    ['a truncated Infinity', '[Infin]', 'DECODE_INVALID_JSON'],
    ['- Infinity with a space', '[- Infinity]', 'DECODE_INVALID_JSON'],
    ['NaN as a key', '{NaN: 1}', 'DECODE_INVALID_JSON'],
    ['NaN followed by a letter', '[NaNa]', 'DECODE_INVALID_JSON'],
    ['a trailing comma', '[1,]', 'DECODE_INVALID_JSON'],
    ['single quotes', "{'a': 1}", 'DECODE_INVALID_JSON'],
    ['two values', '{}{}', 'DECODE_INVALID_JSON'],
    ['trailing text', '1 x', 'DECODE_INVALID_JSON'],
    ['only whitespace', '  ', 'DECODE_INVALID_JSON'],
    ['a raw control character', '"a\u0001"', 'DECODE_INVALID_JSON'],
    ['a leading zero', '012', 'DECODE_INVALID_JSON'],
    ['invalid text next to a big integer', '[12345678901234567890, x]', 'DECODE_INVALID_JSON'],
    ['a bad escape next to a big integer', '[12345678901234567890, "\\x"]', 'DECODE_INVALID_JSON'],
    ['10,000 nested arrays', deep(10_000), 'DECODE_TOO_DEEP'],
    ['10,000 nested objects', `${'{"a":'.repeat(10_000)}0${'}'.repeat(10_000)}`, 'DECODE_TOO_DEEP'],
    ['10,000 nested arrays around a big integer', deep(10_000, '12345678901234567890'), 'DECODE_TOO_DEEP'],
    ['1001 nested arrays', deep(1001), 'DECODE_TOO_DEEP'],
  ] as const)('refuses %s', (_what, body, code: DecodeErrorCode) => {
    const error = errorOf(() => fromJson(body))
    expect([error.name, error.code]).toEqual(['DecodeError', code])
  })

  it('reports the byte offset of a syntax error', () => {
    const error = errorOf(() => fromJson('{"é": x}')) as DecodeError
    expect([error.offset, error.message]).toEqual([7, 'invalid JSON at byte 7: a value was expected'])
    expect((errorOf(() => fromJson(Buffer.from('7b2261223ac328', 'hex'))) as DecodeError).offset).toBe(5)
  })
})
