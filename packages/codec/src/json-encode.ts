import { formatDate } from './date.js'
import {
  EncodeFailure,
  invalidDate,
  loneSurrogate,
  throughContainer,
  toEncodeError,
  tooDeep,
  unsupportedValue,
} from './encode-failure.js'
import { MAX_DEPTH } from './limits.js'
import { isWellFormed } from './values.js'

let out = ''

/**
 * Encodes `value` as compact UTF-8 JSON (RFC 8259), raw non-ASCII, with the same data model as
 * CBOR where JSON can carry it: bigint as exact digits, `Map` with string keys as an object,
 * `Date` as the RFC 3339 text of CBOR tag 0, integral numbers beyond 2^53 as `….0` floats.
 */
export function encodeJson(value: unknown): Buffer {
  let text: string
  try {
    if (value === undefined) throw unsupportedValue(value)
    if (isNative(value, 0)) {
      text = JSON.stringify(value)
    } else {
      writeValue(value, 0)
      text = out
    }
  } catch (error) {
    throw toEncodeError(error)
  } finally {
    out = ''
  }
  return Buffer.from(text, 'utf8')
}

/**
 * Checks the value against the data model and tells whether JSON.stringify writes exactly what
 * this encoder would: true unless a bigint, `Map`, `Date`, -0 or an integral float beyond 2^53
 * needs the slower writer below (which checks again on its way).
 */
function isNative(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw loneSurrogate()
      return true
    case 'number':
      if (Number.isSafeInteger(value)) return value !== 0 || 1 / value > 0
      if (!Number.isFinite(value)) throw nonFinite(value)
      return !Number.isInteger(value)
    case 'boolean':
      return true
    case 'object': {
      if (value === null) return true
      if (depth >= MAX_DEPTH) throw tooDeep()
      if (Array.isArray(value)) {
        let index = 0
        try {
          for (; index < value.length; index++) {
            const item: unknown = value[index]
            if (item !== undefined && !isNative(item, depth + 1)) return false
          }
        } catch (error) {
          throw throughContainer(error, index, value)
        }
        return true
      }
      const proto: unknown = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return false
      const object = value as Record<string, unknown>
      let current = ''
      try {
        for (const key in object) {
          current = key
          const item = object[key]
          if (item === undefined) continue
          if (!isWellFormed(key)) throw loneSurrogate()
          if (!isNative(item, depth + 1)) return false
        }
      } catch (error) {
        throw throughContainer(error, current, object)
      }
      return true
    }
    default:
      return false
  }
}

function writeValue(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
      writeString(value)
      return
    case 'number':
      writeNumber(value)
      return
    case 'boolean':
      out += value ? 'true' : 'false'
      return
    case 'bigint':
      out += value.toString()
      return
    case 'object': {
      if (value === null) {
        out += 'null'
        return
      }
      if (depth >= MAX_DEPTH) throw tooDeep()
      if (Array.isArray(value)) {
        writeArray(value, depth + 1)
        return
      }
      const proto: unknown = Object.getPrototypeOf(value)
      if (proto === Object.prototype || proto === null) {
        writeObject(value as Record<string, unknown>, depth + 1)
        return
      }
      if (value instanceof Uint8Array) {
        throw new EncodeFailure(
          'ENCODE_BYTES_IN_JSON',
          'JSON has no byte strings: send the bytes with application/cbor, or as base64 text',
        )
      }
      if (value instanceof Map) {
        writeMap(value, depth + 1)
        return
      }
      if (value instanceof Date) {
        const text = formatDate(value)
        if (text === undefined) throw invalidDate(value)
        out += `"${text}"`
        return
      }
      throw unsupportedValue(value)
    }
    default:
      throw unsupportedValue(value)
  }
}

function writeString(text: string): void {
  if (!isWellFormed(text)) throw loneSurrogate()
  out += JSON.stringify(text)
}

function writeNumber(value: number): void {
  if (!Number.isFinite(value)) throw nonFinite(value)
  if (Number.isSafeInteger(value)) {
    out += value === 0 && 1 / value < 0 ? '-0.0' : String(value) // keep the sign of -0, as Python writes it
  } else {
    const text = String(value)
    // an integral float beyond 2^53 printed without exponent would read back as an integer (a bigint)
    out += Number.isInteger(value) && !text.includes('e') ? `${text}.0` : text
  }
}

function nonFinite(value: number): EncodeFailure {
  return new EncodeFailure(
    'ENCODE_NON_FINITE',
    `JSON has no ${value}: send null, or use application/cbor, which carries NaN and ±Infinity`,
  )
}

function writeArray(array: unknown[], depth: number): void {
  out += '['
  let index = 0
  try {
    for (; index < array.length; index++) {
      if (index > 0) out += ','
      const item = array[index]
      if (item === undefined) out += 'null'
      else writeValue(item, depth)
    }
  } catch (error) {
    throw throughContainer(error, index, array)
  }
  out += ']'
}

function writeObject(object: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(object)
  out += '{'
  let first = true
  let index = 0
  try {
    for (; index < keys.length; index++) {
      const key = keys[index] as string
      const item = object[key]
      if (item === undefined) continue
      if (first) first = false
      else out += ','
      writeString(key)
      out += ':'
      writeValue(item, depth)
    }
  } catch (error) {
    throw throughContainer(error, keys[index] as string, object)
  }
  out += '}'
}

function writeMap(map: Map<unknown, unknown>, depth: number): void {
  out += '{'
  let first = true
  let current: unknown
  try {
    for (const [key, item] of map) {
      current = key
      if (typeof key !== 'string') {
        throw new EncodeFailure(
          'ENCODE_NON_STRING_KEY',
          `JSON object keys are strings, this Map has a ${key === null ? 'null' : typeof key} key: convert the keys, or use application/cbor`,
        )
      }
      if (item === undefined) continue
      if (first) first = false
      else out += ','
      writeString(key)
      out += ':'
      writeValue(item, depth)
    }
  } catch (error) {
    throw throughContainer(error, { mapKey: current }, map)
  }
  out += '}'
}
