import { readFileSync } from 'node:fs'
import { runPython } from '@am/testkit'
import { beforeAll, describe, expect, it } from 'vitest'
import { CBOR, decode, encode } from '../src/index.js'
import { encodeVectors, fromTyped, NOT_BYTE_IDENTICAL, type Typed } from './helpers/vectors.js'

const event = encodeVectors.find((vector) => vector.name === 'event_like_payload')?.value_typed as Typed

/** Values beyond the golden vectors, where cbor-x's defaults or JS number handling could go wrong. */
const EXTRA: Record<string, Typed> = {
  timestamp_ms: { int: '1732800000000' },
  timestamp_ms_negative: { int: '-1732800000000' },
  int_minus_2pow31_minus1: { int: '-2147483649' },
  int_minus_2pow32: { int: '-4294967296' },
  int_minus_2pow32_minus1: { int: '-4294967297' },
  int_max_safe: { int: '9007199254740991' },
  int_min_safe: { int: '-9007199254740991' },
  int_minus_2pow53: { int: '-9007199254740992' },
  int_2pow100: { int: '1267650600228229401496703205376' },
  float_third: { float: '0.3333333333333333' },
  float_big_integral: { float: '1.152921504606847e+18' },
  datetime_millis: { datetime: '2024-11-28T13:20:00.123000+00:00' },
  text_long_unicode: { str: `${'é☃'.repeat(40)}😀` },
  text_long_ascii: { str: 'x'.repeat(300) },
  map_mixed_keys: {
    map: [
      [{ int: '1' }, { str: 'a' }],
      [{ str: 'b' }, { float: '2.5' }],
      [{ bytes: '00ff' }, null],
    ],
  },
  map_empty_key: { map: [[{ str: '' }, { str: '' }]] },
  events_batch: { array: Array.from({ length: 40 }, () => event) },
}

const ALL: Record<string, Typed> = {
  ...Object.fromEntries(encodeVectors.map((vector) => [vector.name, vector.value_typed])),
  ...EXTRA,
}

interface PythonAnswer {
  decoded: Record<string, Typed | { error: string }>
  dumped: Record<string, string>
}

let answer: PythonAnswer

beforeAll(async () => {
  const ours = Object.fromEntries(
    Object.entries(ALL).map(([name, typed]) => [name, encode(fromTyped(typed)).toString('hex')]),
  )
  const script = readFileSync(new URL('python/interop.py', import.meta.url), 'utf8')
  answer = JSON.parse(await runPython(script, [], JSON.stringify({ ours, typed: ALL }))) as PythonAnswer
}, 60_000)

describe('interop with Python cbor2 (eventail)', () => {
  it.each(Object.keys(ALL))('cbor2 reads what we write for %s', (name) => {
    expect(answer.decoded[name]).toEqual(NOT_BYTE_IDENTICAL[name]?.python ?? ALL[name])
  })

  it.each(Object.keys(ALL))('we read what cbor2 writes for %s', (name) => {
    const bytes = Buffer.from(answer.dumped[name] as string, 'hex')
    expect(decode(bytes, CBOR)).toEqual(fromTyped(ALL[name] as Typed, 'decoded'))
  })

  it.each(Object.keys(EXTRA))('we write the same bytes as cbor2 for %s', (name) => {
    expect(encode(fromTyped(EXTRA[name] as Typed)).toString('hex')).toBe(answer.dumped[name])
  })

  it('cbor2 here still writes the golden bytes', () => {
    for (const vector of encodeVectors)
      expect([vector.name, answer.dumped[vector.name]]).toEqual([vector.name, vector.cbor_hex])
  })
})
