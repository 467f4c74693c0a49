import { describe, expect, it } from 'vitest'
import { CBOR, type DecodeErrorCode, decode, type EncodeErrorCode, encode, JSON_CONTENT_TYPE } from '../src/index.js'
import { decodeVectors, encodeVectors, fromTyped, hex, NOT_BYTE_IDENTICAL, vectorsDir } from './helpers/vectors.js'

/** Our JSON outcome for the vectors that JSON cannot carry (eventail writes invalid JSON or raises). */
const JSON_OUTCOMES: Record<string, EncodeErrorCode | { text: string }> = {
  float_nan: 'ENCODE_NON_FINITE',
  float_inf: 'ENCODE_NON_FINITE',
  float_minus_inf: 'ENCODE_NON_FINITE',
  bytes_empty: 'ENCODE_BYTES_IN_JSON',
  bytes_small: 'ENCODE_BYTES_IN_JSON',
  bytes_in_map: 'ENCODE_BYTES_IN_JSON',
  map_int_keys: 'ENCODE_NON_STRING_KEY',
  datetime_utc: { text: '"2020-01-02T03:04:05Z"' },
}

/** What we do with each decode-side case of eventail (vectors/decode.json). */
const DECODE_OUTCOMES: Record<string, { value: unknown } | { error: DecodeErrorCode }> = {
  cbor_half_float: { value: 1.5 },
  cbor_single_float: { value: 1.5 },
  cbor_indefinite_array: { value: [1, 2] },
  cbor_indefinite_map: { value: { a: 1 } },
  cbor_indefinite_text: { value: 'hell' },
  cbor_indefinite_bytes: { value: new Uint8Array([1, 2, 3]) },
  cbor_self_describe_tag: { value: {} },
  cbor_tag1_epoch: { value: new Date('2020-01-02T02:53:57Z') },
  cbor_unknown_tag: { error: 'DECODE_UNSUPPORTED_TAG' }, // eventail: a CBORTag object reached the handler
  cbor_undefined: { error: 'DECODE_UNSUPPORTED_VALUE' }, // eventail: a special `undefined` object
  cbor_duplicate_keys: { value: { a: 2 } }, // last wins, as cbor2 and JSON.parse
  cbor_trailing_garbage: { error: 'DECODE_TRAILING_BYTES' }, // eventail ignored them (B3, docs/eventail-defects.md)
  cbor_lone_break: { error: 'DECODE_INVALID_CBOR' }, // eventail: a break-marker object (B3, docs/eventail-defects.md)
  cbor_truncated: { error: 'DECODE_TRUNCATED' }, // eventail: crash/reconnect loop (B2, docs/eventail-defects.md)
  cbor_invalid_utf8_text: { error: 'DECODE_INVALID_UTF8' },
  json_nan: { value: { a: Number.NaN } }, // what Python's json.dumps writes for float('nan')
  json_utf8_bom: { error: 'DECODE_INVALID_JSON' }, // eventail accepted it (B3, docs/eventail-defects.md)
  json_utf16le: { error: 'DECODE_INVALID_JSON' }, // eventail auto-detected UTF-16 (B3, docs/eventail-defects.md)
  json_duplicate_keys: { value: { a: 2 } },
  json_big_int: { value: 12345678901234567890n },
  json_bad: { error: 'DECODE_INVALID_JSON' },
}

describe('golden vectors', () => {
  it("are read from the package's own test/vectors folder, every one of them", () => {
    expect([
      vectorsDir.pathname.endsWith('/packages/codec/test/vectors/'),
      encodeVectors.length,
      decodeVectors.length,
    ]).toEqual([true, 52, 21])
  })

  it('list every vector that is not byte-identical by name', () => {
    const names = new Set(encodeVectors.map((vector) => vector.name))
    for (const name of Object.keys(NOT_BYTE_IDENTICAL)) expect(names).toContain(name)
  })
})

describe('encode to CBOR', () => {
  it.each(encodeVectors.map((vector) => [vector.name, vector] as const))('%s', (name, vector) => {
    const value = fromTyped(vector.value_typed)
    const expected = NOT_BYTE_IDENTICAL[name]?.ours ?? vector.cbor_hex
    expect(encode(value).toString('hex')).toBe(expected)
  })
})

describe('decode from CBOR', () => {
  it.each(encodeVectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    expect(decode(hex(vector.cbor_hex), CBOR)).toEqual(fromTyped(vector.value_typed, 'decoded'))
  })
})

describe('JSON', () => {
  const representable = encodeVectors.filter((vector) => vector.json_representable_value)
  const other = encodeVectors.filter((vector) => !vector.json_representable_value)

  it.each(representable.map((vector) => [vector.name, vector] as const))(
    '%s: means what eventail writes, and round trips',
    (_name, vector) => {
      const value = fromTyped(vector.value_typed)
      const ours = encode(value, JSON_CONTENT_TYPE)
      const theirs = Buffer.from(vector.json_utf8_text as string, 'utf8')
      const expected = fromTyped(vector.value_typed, 'json')
      expect(decode(ours, JSON_CONTENT_TYPE)).toEqual(expected)
      expect(decode(theirs, JSON_CONTENT_TYPE)).toEqual(expected)
    },
  )

  it('has an outcome for every vector that JSON cannot carry', () => {
    expect(Object.keys(JSON_OUTCOMES).sort()).toEqual(other.map((vector) => vector.name).sort())
  })

  it.each(other.map((vector) => [vector.name, vector] as const))(
    '%s: is refused or written as listed',
    (name, vector) => {
      const outcome = JSON_OUTCOMES[name]
      const value = fromTyped(vector.value_typed)
      if (typeof outcome === 'string') {
        expect(() => encode(value, JSON_CONTENT_TYPE)).toThrowError(expect.objectContaining({ code: outcome }))
      } else {
        expect(encode(value, JSON_CONTENT_TYPE).toString('utf8')).toBe(outcome?.text)
      }
    },
  )
})

describe('decode-side cases of eventail', () => {
  it('have an outcome for every case', () => {
    expect(Object.keys(DECODE_OUTCOMES).sort()).toEqual(decodeVectors.map((vector) => vector.name).sort())
  })

  it.each(decodeVectors.map((vector) => [vector.name, vector] as const))('%s', (name, vector) => {
    const outcome = DECODE_OUTCOMES[name]
    const run = (): unknown => decode(hex(vector.input_hex), vector.content_type)
    if (outcome && 'error' in outcome) {
      expect(run).toThrowError(expect.objectContaining({ name: 'DecodeError', code: outcome.error }))
    } else {
      expect(run()).toEqual(outcome?.value)
      if (vector.python_result_typed !== undefined) {
        expect(run()).toEqual(fromTyped(vector.python_result_typed, 'decoded'))
      }
    }
  })
})
