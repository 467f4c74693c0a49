import { DecodeError } from './errors.js'
import { MAX_DEPTH } from './limits.js'
import { MAX_SAFE_BIGINT, setOwn } from './values.js'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const TOO_DEEP_MESSAGE = `JSON arrays and objects nest more than ${MAX_DEPTH} levels deep: the bus refuses such bodies`
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y

/**
 * Decodes a UTF-8 JSON body (RFC 8259) strictly: no byte order mark, no invalid UTF-8, one value.
 * Integers beyond ±(2^53 - 1) come out as exact bigints. The one extension is what Python's
 * `json.dumps` writes for non-finite floats: the values `NaN`, `Infinity` and `-Infinity`.
 */
export function decodeJson(body: Uint8Array): unknown {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) {
    throw new DecodeError(
      'DECODE_INVALID_JSON',
      'the JSON body starts with a UTF-8 byte order mark, which RFC 8259 forbids: the producer must not add one',
      { offset: 0 },
    )
  }
  let text: string
  try {
    text = utf8.decode(body)
  } catch (cause) {
    const offset = firstInvalidUtf8(body)
    throw new DecodeError(
      'DECODE_INVALID_UTF8',
      `the JSON body is not valid UTF-8 (at byte ${offset}): JSON on the bus must be UTF-8, not UTF-16, UTF-32 or Latin-1`,
      { offset, cause },
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // Either Python's NaN/Infinity/-Infinity, which only the exact parser reads, or an error, which
    // it finds again with its byte offset (JSON.parse does not give one).
    return parseExact(text)
  }
  return needsExact(value, 0) ? parseExact(text) : value
}

function invalidJson(source: string, index: number, what: string, cause?: unknown): DecodeError {
  const offset = Buffer.byteLength(source.slice(0, index))
  const hint = source.includes('\u0000') ? ' (NUL characters: is it UTF-16? JSON on the bus must be UTF-8)' : ''
  return new DecodeError('DECODE_INVALID_JSON', `invalid JSON at byte ${offset}: ${what}${hint}`, {
    offset,
    ...(cause === undefined ? {} : { cause }),
  })
}

function tooDeep(source: string, index: number): DecodeError {
  const offset = Buffer.byteLength(source.slice(0, index))
  return new DecodeError('DECODE_TOO_DEEP', `${TOO_DEEP_MESSAGE} (at byte ${offset})`, { offset })
}

/** Offset of the first byte that is not part of a valid UTF-8 sequence (the failure path only). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i] as number
    if (lead < 0x80) {
      i++
      continue
    }
    const size =
      lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0
    if (size === 0 || i + size > bytes.length) return i
    const second = bytes[i + 1] as number
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80 // no overlong forms
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf // no surrogates, nothing past U+10FFFF
    if (second < low || second > high) return i
    for (let k = 2; k < size; k++) if (((bytes[i + k] as number) & 0xc0) !== 0x80) return i
    i += size
  }
  return i
}

/**
 * Walks what JSON.parse returned: fails on nesting deeper than MAX_DEPTH, and tells whether a
 * number is an integer beyond ±(2^53 - 1), which JSON.parse has rounded (or made infinite). Walking
 * the values is cheaper than scanning the text, and an integer literal that large never parses to a
 * safe one.
 */
function needsExact(value: unknown, depth: number): boolean {
  if (typeof value === 'number') {
    // an integer literal beyond 2^53 parses rounded, beyond ~1.8e308 to ±Infinity
    return !Number.isSafeInteger(value) && (Number.isInteger(value) || !Number.isFinite(value))
  }
  if (typeof value !== 'object' || value === null) return false
  if (depth >= MAX_DEPTH) throw new DecodeError('DECODE_TOO_DEEP', TOO_DEEP_MESSAGE)
  if (Array.isArray(value)) {
    for (const item of value) if (needsExact(item, depth + 1)) return true
  } else {
    const object = value as Record<string, unknown>
    for (const key in object) if (needsExact(object[key], depth + 1)) return true
  }
  return false
}

let text = ''
let at = 0

/**
 * A strict RFC 8259 parser that keeps integers beyond ±(2^53 - 1) exact (JSON.parse rounds them),
 * and reads Python's `NaN`, `Infinity` and `-Infinity` values.
 */
function parseExact(source: string): unknown {
  text = source
  at = 0
  try {
    skipSpace()
    const value = parseValue(0)
    skipSpace()
    if (at !== text.length) throw invalidJson(text, at, 'unexpected text after the JSON value')
    return value
  } finally {
    text = ''
  }
}

function skipSpace(): void {
  for (;;) {
    const c = text.charCodeAt(at)
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++
    else return
  }
}

function parseValue(depth: number): unknown {
  const c = text.charCodeAt(at)
  switch (c) {
    case 0x7b:
      return parseObject(depth)
    case 0x5b:
      return parseArray(depth)
    case 0x22:
      return parseString()
    case 0x74:
      return literal('true', true)
    case 0x66:
      return literal('false', false)
    case 0x6e:
      return literal('null', null)
    // Python's json.dumps writes non-finite floats as these three words; `-NaN` is no more
    // accepted than by Python's json.loads.
    case 0x4e:
      return literal('NaN', Number.NaN)
    case 0x49:
      return literal('Infinity', Number.POSITIVE_INFINITY)
    default:
      if (c === 0x2d && text.startsWith('-Infinity', at)) return literal('-Infinity', Number.NEGATIVE_INFINITY)
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber()
      throw invalidJson(
        text,
        at,
        at < text.length ? 'a value was expected' : 'the text ends where a value was expected',
      )
  }
}

function literal<T>(word: string, value: T): T {
  if (!text.startsWith(word, at)) throw invalidJson(text, at, 'a value was expected')
  at += word.length
  return value
}

function parseNumber(): number | bigint {
  NUMBER.lastIndex = at
  const match = NUMBER.exec(text)
  if (!match) throw invalidJson(text, at, 'a number was expected')
  const token = match[0]
  at += token.length
  if (match[1] === undefined && match[2] === undefined && token.length >= 16) {
    const big = BigInt(token)
    if (big > MAX_SAFE_BIGINT || big < -MAX_SAFE_BIGINT) return big
  }
  return Number(token)
}

function parseString(): string {
  const start = at
  let close = at
  for (;;) {
    close = text.indexOf('"', close + 1)
    if (close === -1) throw invalidJson(text, start, 'a string is not terminated')
    let backslashes = 0
    while (text.charCodeAt(close - 1 - backslashes) === 0x5c) backslashes++
    if ((backslashes & 1) === 0) break
  }
  at = close + 1
  try {
    return JSON.parse(text.slice(start, at)) as string // checks escapes and control characters
  } catch (cause) {
    throw invalidJson(text, start, 'a string has an invalid escape or a raw control character', cause)
  }
}

function parseArray(depth: number): unknown[] {
  if (depth >= MAX_DEPTH) throw tooDeep(text, at)
  at++
  const array: unknown[] = []
  skipSpace()
  if (text.charCodeAt(at) === 0x5d) {
    at++
    return array
  }
  for (;;) {
    skipSpace()
    array.push(parseValue(depth + 1))
    skipSpace()
    const c = text.charCodeAt(at++)
    if (c === 0x5d) return array
    if (c !== 0x2c) throw invalidJson(text, at - 1, "',' or ']' was expected in an array")
  }
}

function parseObject(depth: number): Record<string, unknown> {
  if (depth >= MAX_DEPTH) throw tooDeep(text, at)
  at++
  const object: Record<string, unknown> = {}
  skipSpace()
  if (text.charCodeAt(at) === 0x7d) {
    at++
    return object
  }
  for (;;) {
    skipSpace()
    if (text.charCodeAt(at) !== 0x22) throw invalidJson(text, at, 'a string key was expected in an object')
    const key = parseString()
    skipSpace()
    if (text.charCodeAt(at++) !== 0x3a) throw invalidJson(text, at - 1, "':' was expected after an object key")
    skipSpace()
    const value = parseValue(depth + 1)
    // an own data property also for "__proto__", as JSON.parse does; the last duplicate wins
    setOwn(object, key, value)
    skipSpace()
    const c = text.charCodeAt(at++)
    if (c === 0x7d) return object
    if (c !== 0x2c) throw invalidJson(text, at - 1, "',' or '}' was expected in an object")
  }
}
