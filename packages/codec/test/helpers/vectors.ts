import { readFileSync } from 'node:fs'

/** The unambiguous typed form of a value in the golden vectors (and in the Python peer's answers). */
export type Typed =
  | null
  | boolean
  | { int: string }
  | { float: string }
  | { str: string }
  | { bytes: string }
  | { array: Typed[] }
  | { map: Array<[Typed, Typed]> }
  | { datetime: string }

/** One entry of `vectors/encode.json`. */
export interface EncodeVector {
  name: string
  value_typed: Typed
  value_description: string
  cbor_hex: string
  json_utf8_hex: string | null
  json_utf8_text?: string
  json_error?: string
  cbor_only: boolean
  json_representable_value: boolean
  notes?: string
}

/** One entry of `vectors/decode.json`. */
export interface DecodeVector {
  name: string
  content_type: string
  input_hex: string
  outcome: 'decoded' | 'error'
  python_result_repr?: string
  python_result_typed?: Typed
  python_exception?: string
}

export const vectorsDir: URL = new URL('../vectors/', import.meta.url)

export const encodeVectors: EncodeVector[] = JSON.parse(
  readFileSync(new URL('encode.json', vectorsDir), 'utf8'),
) as EncodeVector[]

export const decodeVectors: DecodeVector[] = JSON.parse(
  readFileSync(new URL('decode.json', vectorsDir), 'utf8'),
) as DecodeVector[]

/**
 * Vectors whose CBOR bytes we cannot reproduce, with what we send instead. JS has one number
 * type: an integral number is an integer on the wire, so a Python float such as 1.0 has no JS
 * counterpart (a consumer must treat 1 and 1.0 as the same number).
 */
export const NOT_BYTE_IDENTICAL: Record<string, { reason: string; ours: string; python: Typed }> = {
  float_1_0: {
    reason: 'the JS number 1 is integral: sent as the integer 1, not float64 1.0',
    ours: '01',
    python: { int: '1' },
  },
}

/**
 * What a map becomes: `'input'` is what a caller passes to `encode` (a plain object when JS keeps
 * its key order, otherwise a `Map`); `'decoded'` is what `decode` returns (a plain object when all
 * keys are text, otherwise a `Map`); `'json'` is what comes back from JSON (always an object).
 */
export type Shape = 'input' | 'decoded' | 'json'

/** Converts a typed value to the JS value of the given shape. */
export function fromTyped(typed: Typed, shape: Shape = 'input'): unknown {
  if (typed === null || typeof typed === 'boolean') return typed
  if ('int' in typed) {
    const big = BigInt(typed.int)
    return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
  }
  if ('float' in typed) {
    if (typed.float === 'nan') return Number.NaN
    if (typed.float === 'inf') return Number.POSITIVE_INFINITY
    if (typed.float === '-inf') return Number.NEGATIVE_INFINITY
    return Number(typed.float)
  }
  if ('str' in typed) return typed.str
  if ('bytes' in typed) return new Uint8Array(Buffer.from(typed.bytes, 'hex'))
  if ('array' in typed) return typed.array.map((item) => fromTyped(item, shape))
  if ('datetime' in typed) return new Date(typed.datetime)
  const entries = typed.map.map(([key, value]) => [fromTyped(key, shape), fromTyped(value, shape)] as const)
  const allText = entries.every(([key]) => typeof key === 'string')
  if (!allText && shape !== 'json') return new Map(entries)
  const object: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    Object.defineProperty(object, String(key), { value, writable: true, enumerable: true, configurable: true })
  }
  const orderKept = Object.keys(object).join('\u0000') === entries.map(([key]) => key).join('\u0000')
  return shape === 'input' && !orderKept ? new Map(entries) : object
}

/** Bytes from hex. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex')
}
