import { Encoder } from 'cbor-x'
import { describe, expect, it } from 'vitest'
import {
  CBOR,
  DecodeError,
  type DecodeErrorCode,
  decode,
  EncodeError,
  type EncodeErrorCode,
  encode,
} from '../src/index.js'
import { encodeVectors, hex } from './helpers/vectors.js'

const toHex = (value: unknown): string => encode(value).toString('hex')
const fromHex = (text: string): unknown => decode(hex(text), CBOR)
const nested = (open: string, close: string, levels: number, core = '00'): string =>
  open.repeat(levels) + core + close.repeat(levels)

function decodeError(text: string | Uint8Array): DecodeError {
  try {
    decode(typeof text === 'string' ? hex(text) : text, CBOR)
  } catch (error) {
    if (error instanceof DecodeError) return error
    throw error
  }
  throw new Error(`decoded without error: ${String(text)}`)
}

function encodeError(value: unknown): EncodeError {
  try {
    encode(value)
  } catch (error) {
    if (error instanceof EncodeError) return error
    throw error
  }
  throw new Error('encoded without error')
}

describe('encode numbers', () => {
  it('writes a 13-digit millisecond timestamp as a CBOR integer, not the float64 cbor-x writes', () => {
    expect(toHex(1732800000000)).toBe('1b0000019372edb000')
    expect(toHex(-1732800000000)).toBe('3b0000019372edafff')
    // what we must not ship: cbor-x's default encoder turns integers beyond 32 bits into floats
    expect(new Encoder({ useRecords: false }).encode(1732800000000).toString('hex')).toBe('fb4279372edb000000')
  })

  it.each([
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [2 ** 31, '1a80000000'],
    [2 ** 32 - 1, '1affffffff'],
    [2 ** 32, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [-1, '20'],
    [-24, '37'],
    [-25, '3818'],
    [-256, '38ff'],
    [-257, '390100'],
    [-65537, '3a00010000'],
    [-(2 ** 31), '3a7fffffff'],
    [-(2 ** 31) - 1, '3a80000000'],
    [-(2 ** 32), '3affffffff'],
    [-(2 ** 32) - 1, '3b0000000100000000'],
    [-Number.MAX_SAFE_INTEGER, '3b001ffffffffffffe'],
  ])('writes the integer %d in shortest form', (value, expected) => {
    expect(toHex(value)).toBe(expected)
  })

  it.each([
    [1.5, 'fb3ff8000000000000'],
    [0.1, 'fb3fb999999999999a'],
    [-0, 'fb8000000000000000'],
    [2 ** 53, 'fb4340000000000000'],
    [-(2 ** 53), 'fbc340000000000000'],
    [1e300, 'fb7e37e43c8800759c'],
    [5e-324, 'fb0000000000000001'],
    [Number.NaN, 'f97e00'],
    [Number.POSITIVE_INFINITY, 'f97c00'],
    [Number.NEGATIVE_INFINITY, 'f9fc00'],
  ])('writes the non-integer or unsafe %d as cbor2 does', (value, expected) => {
    expect(toHex(value)).toBe(expected)
  })

  it.each([
    [0n, '00'],
    [5n, '05'],
    [-1n, '20'],
    [2n ** 32n, '1b0000000100000000'],
    [2n ** 53n, '1b0020000000000000'],
    [2n ** 64n - 1n, '1bffffffffffffffff'],
    [2n ** 64n, 'c249010000000000000000'],
    [-(2n ** 64n), '3bffffffffffffffff'],
    [-(2n ** 64n) - 1n, 'c349010000000000000000'],
    [2n ** 100n, 'c24d10000000000000000000000000'],
  ])('writes the bigint %s as cbor2 writes the int', (value, expected) => {
    expect(toHex(value)).toBe(expected)
  })
})

describe('encode strings and bytes', () => {
  it.each([
    ['', '60'],
    ['a'.repeat(23), `77${'61'.repeat(23)}`],
    ['a'.repeat(24), `7818${'61'.repeat(24)}`],
    ['a'.repeat(255), `78ff${'61'.repeat(255)}`],
    ['a'.repeat(256), `790100${'61'.repeat(256)}`],
    ['é'.repeat(12), `7818${'c3a9'.repeat(12)}`], // 12 units, 24 bytes: the header grows after writing
    ['é'.repeat(100), `78c8${'c3a9'.repeat(100)}`],
    ['☃'.repeat(90), `79010e${'e29883'.repeat(90)}`],
    ['😀'.repeat(20), `7850${'f09f9880'.repeat(20)}`],
  ])('writes %j with the shortest length header', (value, expected) => {
    expect(toHex(value)).toBe(expected)
  })

  it('writes a string longer than 65535 bytes with a 32-bit length', () => {
    const text = 'é'.repeat(40_000)
    expect(encode(text).subarray(0, 5).toString('hex')).toBe('7a00013880')
    expect(decode(encode(text), CBOR)).toBe(text)
  })

  it.each([
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00b'],
    ['a reversed pair', '\udc00\ud800'],
    ['a lone surrogate in a long string', `${'x'.repeat(100)}\ud83d`],
  ])('refuses %s', (_what, text) => {
    expect(encodeError({ text }).code).toBe('ENCODE_INVALID_STRING')
    expect(encodeError(new Map([[text, 1]])).code).toBe('ENCODE_INVALID_STRING')
  })

  it('writes Buffer and Uint8Array as plain byte strings, without tag 64', () => {
    expect(toHex(Buffer.from([0, 1, 0xfe, 0xff]))).toBe('440001feff')
    expect(toHex(new Uint8Array([0, 1, 0xfe, 0xff]))).toBe('440001feff')
    expect(toHex(new Uint8Array(new ArrayBuffer(8), 2, 3))).toBe('43000000')
  })
})

describe('encode containers', () => {
  it('writes object properties in their order, and a Map in insertion order with any keys', () => {
    expect(toHex({ b: 1, a: 2 })).toBe('a2616201616102')
    // a JS object moves integer-like keys first; a Map keeps the order eventail wrote
    expect(toHex({ b: 1, '1': 3, '0': 4 })).toBe('a3613004613103616201')
    expect(
      toHex(
        new Map<unknown, unknown>([
          ['b', 1],
          ['1', 3],
          ['0', 4],
        ]),
      ),
    ).toBe('a3616201613103613004')
    expect(
      toHex(
        new Map<unknown, unknown>([
          [1, 'a'],
          [null, true],
          [[1], 2n],
        ]),
      ),
    ).toBe('a3016161f6f5810102')
  })

  it('leaves out undefined properties and writes undefined array items as null, as JSON.stringify', () => {
    expect(toHex({ a: undefined, b: 1 })).toBe('a1616201')
    expect(
      toHex(
        new Map([
          ['a', undefined],
          ['b', 1],
        ]),
      ),
    ).toBe('a1616201')
    expect(toHex([undefined, 1])).toBe('82f601')
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
    expect(toHex([1, , 2])).toBe('8301f602')
  })

  it('shrinks the map header when left-out properties bring the count below 24', () => {
    const object: Record<string, unknown> = {}
    for (let i = 0; i < 24; i++) object[`k${i}`] = i === 5 ? undefined : i
    const bytes = encode(object)
    expect(bytes[0]).toBe(0xb7) // map of 23
    expect(decode(bytes, CBOR)).toEqual(Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)))
  })

  it('writes objects without a prototype and encodes a shared (not circular) value twice', () => {
    const shared = { x: 1 }
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: shared, b: shared })
    expect(toHex(bare)).toBe('a26161a16178016162a1617801')
  })

  it('writes an own "__proto__" property as a key', () => {
    const value = JSON.parse('{"__proto__": 1}') as unknown
    expect(toHex(value)).toBe('a1695f5f70726f746f5f5f01')
  })

  it('accepts 1000 levels of nesting and refuses 1001', () => {
    let value: unknown = 0
    for (let i = 0; i < 1000; i++) value = [value]
    expect(fromHex(toHex(value))).toEqual(value)
    const error = encodeError([value])
    expect([error.code, error.message.slice(0, 60)]).toMatchInlineSnapshot(`
      [
        "ENCODE_TOO_DEEP",
        "the value nests arrays, objects and maps more than 1000 leve",
      ]
    `)
  })
})

describe('encode dates', () => {
  it.each([
    [new Date('2020-01-02T03:04:05Z'), 'c074323032302d30312d30325430333a30343a30355a'],
    [new Date('2020-01-02T03:04:05.123Z'), 'c0781b323032302d30312d30325430333a30343a30352e3132333030305a'],
    [new Date('0001-01-01T00:00:00Z'), 'c074303030312d30312d30315430303a30303a30305a'],
  ])('writes %s as tag 0 with the text cbor2 writes', (date, expected) => {
    expect(toHex(date)).toBe(expected)
  })

  it.each([
    ['an invalid Date', new Date(Number.NaN)],
    ['a year after 9999', new Date('+010000-01-01T00:00:00Z')],
    ['a year before 1', new Date('-000001-01-01T00:00:00Z')],
  ])('refuses %s', (_what, date) => {
    expect(encodeError({ at: date }).code).toBe('ENCODE_INVALID_DATE')
  })
})

describe('encode errors', () => {
  class Point {
    x = 1
  }
  it.each([
    ['undefined at the top', undefined, 'ENCODE_UNSUPPORTED_VALUE', '$'],
    ['a function', { a: [() => 1] }, 'ENCODE_UNSUPPORTED_VALUE', '$.a[0]'],
    ['a symbol', { 'a b': Symbol('s') }, 'ENCODE_UNSUPPORTED_VALUE', '$["a b"]'],
    ['a class instance', { p: new Point() }, 'ENCODE_UNSUPPORTED_VALUE', '$.p'],
    ['a Set', new Set([1]), 'ENCODE_UNSUPPORTED_VALUE', '$'],
    ['a Uint16Array', new Uint16Array(1), 'ENCODE_UNSUPPORTED_VALUE', '$'],
    ['an ArrayBuffer', new ArrayBuffer(1), 'ENCODE_UNSUPPORTED_VALUE', '$'],
    ['a boxed string', Object('x') as unknown, 'ENCODE_UNSUPPORTED_VALUE', '$'],
    ['a RegExp', /x/, 'ENCODE_UNSUPPORTED_VALUE', '$'],
    ['an Error', new Error('x'), 'ENCODE_UNSUPPORTED_VALUE', '$'],
    ['an undefined Map key', new Map([[undefined, 1]]), 'ENCODE_UNSUPPORTED_VALUE', '$.get(<undefined>)'],
    ['a value under a Map key', new Map([['k', () => 1]]), 'ENCODE_UNSUPPORTED_VALUE', '$.get("k")'],
  ] as const)('refuses %s', (_what, value, code: EncodeErrorCode, path) => {
    const error = encodeError(value)
    expect([error.code, error.path]).toEqual([code, path])
  })

  it('says where the value is and what to do', () => {
    expect(() => encode({ items: [{ price: 1 }, { price: () => 2 }] })).toThrowErrorMatchingInlineSnapshot(
      `[EncodeError: cannot encode a function: convert it to plain data first (object, array, string, number, bigint, boolean, null, Uint8Array, Map or Date) (at $.items[1].price)]`,
    )
  })

  it.each([
    [
      'an object',
      () => {
        const value: Record<string, unknown> = { a: { b: {} } }
        ;(value.a as { b: Record<string, unknown> }).b.back = value
        return [value, '$.a.b.back is $ again'] as const
      },
    ],
    [
      'an array',
      () => {
        const value: unknown[] = [1]
        value.push([value])
        return [value, '$[1][0] is $ again'] as const
      },
    ],
    [
      'a Map',
      () => {
        const value = new Map<string, unknown>()
        value.set('self', value)
        return [value, '$.get("self") is $ again'] as const
      },
    ],
  ])('refuses %s that contains itself, naming the cycle', (_what, make) => {
    const [value, cycle] = make()
    const error = encodeError(value)
    expect(error.code).toBe('ENCODE_CIRCULAR')
    expect(error.message).toContain(cycle)
  })

  it('wraps an error thrown by a getter, with the path', () => {
    const value = {
      get broken(): never {
        throw new TypeError('boom')
      },
    }
    const error = encodeError({ nested: value })
    expect([error.code, error.path, (error.cause as Error).message]).toEqual([
      'ENCODE_UNSUPPORTED_VALUE',
      '$.nested.broken',
      'boom',
    ])
  })

  it('encodes again from inside a getter without mixing the two outputs', () => {
    const inner = {
      get v() {
        return encode('inner').toString('hex')
      },
    }
    expect(fromHex(toHex({ a: 1, inner, b: 2 }))).toEqual({ a: 1, inner: { v: '65696e6e6572' }, b: 2 })
  })

  it('keeps earlier results intact while later values are encoded, also past a buffer growth', () => {
    const first = encode({ first: 'x'.repeat(100) })
    const copy = Buffer.from(first)
    const big = encode({ big: 'y'.repeat(3_000_000), n: [1, 2, 3] })
    for (let i = 0; i < 2000; i++) encode({ i, text: 'z'.repeat(i % 300) })
    expect(first).toEqual(copy)
    expect(decode(big, CBOR)).toEqual({ big: 'y'.repeat(3_000_000), n: [1, 2, 3] })
  })

  it('leaves the encoder usable after a failure', () => {
    encodeError({ a: 'x'.repeat(5000), b: () => 1 })
    expect(toHex({ ok: true })).toBe('a1626f6bf5')
  })
})

describe('decode values', () => {
  it.each([
    ['1b001fffffffffffff', Number.MAX_SAFE_INTEGER],
    ['1b0020000000000000', 2n ** 53n],
    ['3b001ffffffffffffe', -Number.MAX_SAFE_INTEGER],
    ['3b001fffffffffffff', -(2n ** 53n)],
    ['1bffffffffffffffff', 2n ** 64n - 1n],
    ['3bffffffffffffffff', -(2n ** 64n)],
    ['c249010000000000000000', 2n ** 64n],
    ['c349010000000000000000', -(2n ** 64n) - 1n],
    ['1b0000000000000005', 5], // not shortest, still valid
    ['1b0000019372edb000', 1732800000000],
    ['c24101', 1],
    ['c240', 0],
    ['c34100', -1],
    ['c24720000000000000', 2n ** 53n],
  ])('reads %s as %s (number when safe, bigint beyond)', (text, expected) => {
    expect(fromHex(text)).toStrictEqual(expected)
  })

  it.each([
    ['f90001', 2 ** -24],
    ['f98000', -0],
    ['f97c00', Number.POSITIVE_INFINITY],
    ['f9fc00', Number.NEGATIVE_INFINITY],
    ['f97e00', Number.NaN],
    ['f97bff', 65504],
    ['fa7f800000', Number.POSITIVE_INFINITY],
    ['fa3fc00000', 1.5],
    ['fb3ff8000000000000', 1.5],
  ])('reads the float %s', (text, expected) => {
    expect(fromHex(text)).toBe(expected)
  })

  it('reads a byte string as a Uint8Array copy of the body', () => {
    const body = hex('4401020304')
    const bytes = decode(body, CBOR) as Uint8Array
    body.fill(0)
    expect(bytes).toStrictEqual(new Uint8Array([1, 2, 3, 4]))
  })

  it('reads text-keyed maps as plain objects and other maps as Map, in order', () => {
    expect(fromHex('a2616201616102')).toStrictEqual({ b: 1, a: 2 })
    expect(fromHex('a3016161f6f5820102f4')).toStrictEqual(
      new Map<unknown, unknown>([
        [1, 'a'],
        [null, true],
        [[1, 2], false],
      ]),
    )
    expect([...(fromHex('a3616201016161613001') as Map<unknown, unknown>).keys()]).toEqual(['b', 1, '0'])
    // a text key wrapped in the self-describe tag is still text
    expect(fromHex('a2d9d9f76161016162f5')).toStrictEqual({ a: 1, b: true })
  })

  it('reads a "__proto__" key as an own property, never as the prototype', () => {
    const object = fromHex('a1695f5f70726f746f5f5fa166706f6c6c7574f5') as Record<string, unknown>
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(object, '__proto__')?.value).toEqual({ pollut: true })
    expect((object as { pollut?: unknown }).pollut).toBeUndefined()
    expect(({} as { pollut?: unknown }).pollut).toBeUndefined()
    // the same key in a map that becomes a Map, and in one decoded again after a tagged key
    expect((fromHex('a201f4695f5f70726f746f5f5f02') as Map<unknown, unknown>).get('__proto__')).toBe(2)
    const again = fromHex('a2d9d9f7616101695f5f70726f746f5f5f02') as Record<string, unknown>
    expect([Object.getPrototypeOf(again), Object.getOwnPropertyDescriptor(again, '__proto__')?.value]).toEqual([
      Object.prototype,
      2,
    ])
  })

  it('keeps the last of duplicate keys, as cbor2 and JSON.parse', () => {
    expect(fromHex('a3616101616202616103')).toStrictEqual({ a: 3, b: 2 })
  })

  it('reads text that holds a genuine U+FFFD', () => {
    expect(fromHex('63efbfbd')).toBe('\ufffd')
    expect(fromHex(`7820${'61'.repeat(29)}efbfbd`)).toBe(`${'a'.repeat(29)}\ufffd`)
  })

  it.each([
    ['c074323032302d30312d30325430333a30343a30355a', '2020-01-02T03:04:05.000Z'],
    ['c0781b323032302d30312d30325430333a30343a30352e3132333030305a', '2020-01-02T03:04:05.123Z'],
    [`c0${encode('2020-01-02T04:04:05.1239+01:00').toString('hex')}`, '2020-01-02T03:04:05.123Z'],
    [`c0${encode('2020-01-02t03:04:05z').toString('hex')}`, '2020-01-02T03:04:05.000Z'],
    ['c11a5e0d5b45', '2020-01-02T02:53:57.000Z'],
    ['c1fb41d78356d14851ec', '2020-01-02T02:53:57.130Z'],
    ['c13a00000000', '1969-12-31T23:59:59.000Z'],
  ])('reads the date %s', (text, iso) => {
    expect((fromHex(text) as Date).toISOString()).toBe(iso)
  })

  it('decodes an empty body to null', () => {
    expect(decode(Buffer.alloc(0), CBOR)).toBeNull()
    expect(decode(new Uint8Array(0), 'application/json')).toBeNull()
  })

  it('accepts a plain Uint8Array view into a larger buffer', () => {
    const bytes = new Uint8Array([0xff, 0xa1, 0x61, 0x61, 0x01, 0xff])
    expect(decode(bytes.subarray(1, 5), CBOR)).toEqual({ a: 1 })
  })

  it('accepts 1000 levels of nesting', () => {
    expect(decode(hex(nested('81', '', 1000)), CBOR)).toBeInstanceOf(Array)
    expect(decode(hex(`${'a16161'.repeat(1000)}00`), CBOR)).toBeTypeOf('object')
  })
})

describe('decode errors', () => {
  it.each([
    ['a1', 'DECODE_TRUNCATED'],
    ['6261', 'DECODE_TRUNCATED'],
    ['1901', 'DECODE_TRUNCATED'],
    ['fb00', 'DECODE_TRUNCATED'],
    ['9f01', 'DECODE_TRUNCATED'],
    ['5f', 'DECODE_TRUNCATED'],
    ['7f6161', 'DECODE_TRUNCATED'],
    ['c2', 'DECODE_TRUNCATED'],
    ['9b00000000ffffffff', 'DECODE_TRUNCATED'],
    ['9affffffff00', 'DECODE_TRUNCATED'],
    ['bb000000010000000000', 'DECODE_TRUNCATED'],
    ['5bffffffffffffffff', 'DECODE_TRUNCATED'],
    ['a1616101ff', 'DECODE_TRAILING_BYTES'],
    ['0000', 'DECODE_TRAILING_BYTES'],
    ['ff', 'DECODE_INVALID_CBOR'],
    ['1c', 'DECODE_INVALID_CBOR'],
    ['3f', 'DECODE_INVALID_CBOR'],
    ['dc00', 'DECODE_INVALID_CBOR'],
    ['df00', 'DECODE_INVALID_CBOR'],
    ['fc', 'DECODE_INVALID_CBOR'],
    ['5f01ff', 'DECODE_INVALID_CBOR'],
    ['5f6161ff', 'DECODE_INVALID_CBOR'],
    ['7f7f6161ffff', 'DECODE_INVALID_CBOR'],
    ['f810', 'DECODE_INVALID_CBOR'],
    ['bf6161ff', 'DECODE_INVALID_CBOR'],
    ['8201ff', 'DECODE_INVALID_CBOR'],
    ['c2820102', 'DECODE_INVALID_CBOR'],
    ['62c328', 'DECODE_INVALID_UTF8'],
    ['63eda080', 'DECODE_INVALID_UTF8'], // a surrogate
    ['62c080', 'DECODE_INVALID_UTF8'], // overlong
    ['64f4908080', 'DECODE_INVALID_UTF8'], // beyond U+10FFFF
    [`7820${'61'.repeat(31)}ff`, 'DECODE_INVALID_UTF8'],
    ['a162c32801', 'DECODE_INVALID_UTF8'], // in a key
    ['7f61616180ff', 'DECODE_INVALID_UTF8'], // in a chunk
    ['d8184100', 'DECODE_UNSUPPORTED_TAG'], // 24: embedded CBOR
    ['d81c80', 'DECODE_UNSUPPORTED_TAG'], // 28: cbor-x shared values
    ['d81d00', 'DECODE_UNSUPPORTED_TAG'], // 29: cbor-x references
    ['d840420102', 'DECODE_UNSUPPORTED_TAG'], // 64: typed array
    ['d90102a0', 'DECODE_UNSUPPORTED_TAG'], // 258: set
    ['d90103a0', 'DECODE_UNSUPPORTED_TAG'], // 259: cbor-x Map
    ['d9dfff820000', 'DECODE_UNSUPPORTED_TAG'], // cbor-x record definition
    ['d8258f', 'DECODE_UNSUPPORTED_TAG'],
    ['db000000010000000000', 'DECODE_UNSUPPORTED_TAG'],
    ['f7', 'DECODE_UNSUPPORTED_VALUE'],
    ['e0', 'DECODE_UNSUPPORTED_VALUE'],
    ['f3', 'DECODE_UNSUPPORTED_VALUE'],
    ['f8ff', 'DECODE_UNSUPPORTED_VALUE'],
    ['a16161f7', 'DECODE_UNSUPPORTED_VALUE'],
    ['c06474657874', 'DECODE_INVALID_DATE'],
    [`c0${encode('2020-02-30T00:00:00Z').toString('hex')}`, 'DECODE_INVALID_DATE'],
    [`c0${encode('2020-01-02T03:04:60Z').toString('hex')}`, 'DECODE_INVALID_DATE'],
    [`c0${encode('2020-01-02 03:04:05Z').toString('hex')}`, 'DECODE_INVALID_DATE'],
    ['c001', 'DECODE_INVALID_DATE'],
    ['c1f97e00', 'DECODE_INVALID_DATE'],
    ['c1fb7e37e43c8800759c', 'DECODE_INVALID_DATE'],
    ['c16161', 'DECODE_INVALID_DATE'],
  ] as const)('refuses %s with %s', (text, code: DecodeErrorCode) => {
    expect(decodeError(text).code).toBe(code)
  })

  it.each([
    ['arrays', nested('81', '', 10_000)],
    ['indefinite arrays', nested('9f', 'ff', 10_000)],
    ['maps', `${'a16161'.repeat(10_000)}00`],
    ['self-describe tags', `${'d9d9f7'.repeat(10_000)}00`],
    ['1001 arrays', nested('81', '', 1001)],
  ])('refuses 10,000-level nesting of %s with DECODE_TOO_DEEP, without a crash', (_what, text) => {
    expect(decodeError(text).code).toBe('DECODE_TOO_DEEP')
  })

  it('says what is wrong, where, and what to do', () => {
    expect(() => fromHex('a1616101ffff')).toThrowErrorMatchingInlineSnapshot(
      `[DecodeError: 2 bytes follow the CBOR item that ends at offset 4: a body holds exactly one item]`,
    )
    expect(decodeError('a1616101ffff').offset).toBe(4)
    expect(() => fromHex('d90fa001')).toThrowErrorMatchingInlineSnapshot(
      `[DecodeError: CBOR tag 4000 at offset 0 is not supported: the bus carries only dates (tags 0, 1) and big integers (tags 2, 3)]`,
    )
  })

  it('refuses a body that is not bytes', () => {
    expect(() => decode('a0' as unknown as Uint8Array, CBOR)).toThrowError(
      expect.objectContaining({ code: 'DECODE_INVALID_INPUT' }),
    )
  })

  it('refuses every proper prefix of every vector as truncated', () => {
    for (const vector of encodeVectors) {
      const bytes = hex(vector.cbor_hex)
      for (let length = 1; length < bytes.length; length++) {
        expect([vector.name, length, decodeError(bytes.subarray(0, length)).code]).toEqual([
          vector.name,
          length,
          'DECODE_TRUNCATED',
        ])
      }
    }
  })

  it('throws nothing but DecodeError on random bytes', () => {
    let seed = 42
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed
    }
    for (let round = 0; round < 20_000; round++) {
      const bytes = new Uint8Array(1 + (random() % 24)).map(() => random() & 0xff)
      try {
        decode(bytes, CBOR)
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError)
      }
    }
  })
})
