import { isUtf8 } from 'node:buffer'
import { parseDate } from './date.js'
import { DecodeError } from './errors.js'
import { MAX_DEPTH } from './limits.js'
import { MAX_SAFE_BIGINT, setOwn } from './values.js'

// Node's Buffer has a native UTF-8 reader that @types/node does not declare; `toString` is the fallback.
interface NodeBuffer extends Buffer {
  utf8Slice?: (start: number, end: number) => string
  latin1Slice?: (start: number, end: number) => string
}

const EMPTY = Buffer.alloc(0) as NodeBuffer
const nativeUtf8 = typeof EMPTY.utf8Slice === 'function'
const fromCharCode = String.fromCharCode

let src: NodeBuffer = EMPTY
let pos = 0
let end = 0
let view: DataView | undefined
// Array slots that may still be allocated up front: a valid body never declares more elements
// than it has bytes, so a lying header cannot make us allocate more than the body's size.
let budget = 0

/**
 * Decodes a body that must hold exactly one well-formed CBOR item of the bus data model.
 * Accepts everything cbor2 writes and the valid CBOR that other producers may send
 * (half/single floats, indefinite lengths, non-shortest heads); refuses the rest with a `DecodeError`.
 */
export function decodeCbor(body: Uint8Array): unknown {
  src = (Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)) as NodeBuffer
  pos = 0
  end = src.length
  view = undefined
  budget = end
  try {
    const value = readItem(0)
    if (pos !== end) {
      throw new DecodeError(
        'DECODE_TRAILING_BYTES',
        `${end - pos} bytes follow the CBOR item that ends at offset ${pos}: a body holds exactly one item`,
        { offset: pos },
      )
    }
    return value
  } catch (error) {
    throw toDecodeError(error)
  } finally {
    src = EMPTY
  }
}

function toDecodeError(error: unknown): DecodeError {
  if (error instanceof DecodeError) return error
  if (error instanceof RangeError) {
    return new DecodeError('DECODE_TOO_DEEP', 'the call stack ran out while decoding nested CBOR items', {
      offset: pos,
      cause: error,
    })
  }
  return new DecodeError('DECODE_INVALID_CBOR', `the CBOR body could not be decoded at offset ${pos}`, {
    offset: pos,
    cause: error,
  })
}

function truncated(): DecodeError {
  return new DecodeError(
    'DECODE_TRUNCATED',
    `the CBOR body ends in the middle of an item (${end} bytes, item at offset ${pos} needs more): the body was cut short or is not CBOR`,
    { offset: pos },
  )
}

function invalid(what: string, offset: number): DecodeError {
  return new DecodeError('DECODE_INVALID_CBOR', `not well-formed CBOR at offset ${offset}: ${what}`, { offset })
}

function tooDeep(offset: number): DecodeError {
  return new DecodeError(
    'DECODE_TOO_DEEP',
    `CBOR items nest more than ${MAX_DEPTH} levels deep at offset ${offset}: the bus refuses such bodies`,
    { offset },
  )
}

function readItem(depth: number): unknown {
  if (pos >= end) throw truncated()
  const initial = src[pos++] as number
  const info = initial & 0x1f
  switch (initial >> 5) {
    case 0:
      return info < 24 ? info : readInteger(info, false)
    case 1:
      return info < 24 ? -1 - info : readInteger(info, true)
    case 2:
      return readBytes(info)
    case 3:
      return readText(info)
    case 4:
      return readArray(info, depth)
    case 5:
      return readMap(info, depth)
    case 6:
      return readTag(info, depth)
    default:
      return readSimple(info)
  }
}

/** Reads the argument of a head whose additional information is 24-27; -1 for indefinite (31). */
function readArgument(info: number): number {
  if (info < 24) return info
  const at = pos - 1
  let value: number
  switch (info) {
    case 24:
      if (pos + 1 > end) throw truncated()
      return src[pos++] as number
    case 25:
      if (pos + 2 > end) throw truncated()
      value = ((src[pos] as number) << 8) | (src[pos + 1] as number)
      pos += 2
      return value
    case 26:
      if (pos + 4 > end) throw truncated()
      value = getView().getUint32(pos)
      pos += 4
      return value
    case 27:
      if (pos + 8 > end) throw truncated()
      // a length or tag this large is refused by its caller, so precision beyond 2^53 does not matter
      value = getView().getUint32(pos) * 0x100000000 + getView().getUint32(pos + 4)
      pos += 8
      return value
    case 31:
      return -1
    default:
      throw invalid(`reserved additional information ${info}`, at)
  }
}

function getView(): DataView {
  if (view === undefined) view = new DataView(src.buffer, src.byteOffset, src.byteLength)
  return view
}

function readInteger(info: number, negative: boolean): number | bigint {
  if (info !== 27) {
    if (info === 31) throw invalid('an integer cannot have an indefinite length', pos - 1)
    const value = readArgument(info)
    return negative ? -1 - value : value
  }
  if (pos + 8 > end) throw truncated()
  const high = getView().getUint32(pos)
  const low = getView().getUint32(pos + 4)
  pos += 8
  if (high < 0x200000) {
    const value = high * 0x100000000 + low // at most 2^53 - 1
    if (!negative) return value
    if (value < Number.MAX_SAFE_INTEGER) return -1 - value
  }
  const big = (BigInt(high) << 32n) | BigInt(low)
  return negative ? -1n - big : big
}

function readBytes(info: number): Uint8Array {
  if (info === 31) return readChunks(2) as Uint8Array
  const length = readArgument(info)
  if (length > end - pos) throw truncated()
  const bytes = new Uint8Array(src.subarray(pos, pos + length)) // a copy: the body buffer may be reused
  pos += length
  return bytes
}

function readText(info: number): string {
  if (info === 31) return readChunks(3) as string
  const length = info < 24 ? info : readArgument(info)
  if (length > end - pos) throw truncated()
  const start = pos
  pos += length
  if (length < 16) {
    const ascii = shortAscii(start, length)
    if (ascii !== undefined) return ascii
  }
  const text = nativeUtf8
    ? (src.utf8Slice as NonNullable<NodeBuffer['utf8Slice']>)(start, pos)
    : src.toString('utf8', start, pos)
  // decoders replace every invalid sequence with U+FFFD, so only then are the bytes checked
  if (text.indexOf('\ufffd') !== -1 && !isUtf8(src.subarray(start, pos))) {
    throw new DecodeError(
      'DECODE_INVALID_UTF8',
      `the CBOR text string at offset ${start} is not valid UTF-8: the producer must send text as UTF-8 (or bytes as a byte string)`,
      { offset: start },
    )
  }
  return text
}

// Map keys repeat from message to message: an ASCII key of up to 15 bytes is looked up here by
// a hash of its bytes, which saves creating the string and V8 re-interning it as a property name.
const keyCache: Array<string | undefined> = new Array(4096)

function readKey(length: number): string {
  if (length > end - pos) throw truncated()
  const s = src
  const start = pos
  let hash = length
  let bits = 0
  for (let i = start; i < start + length; i++) {
    const byte = s[i] as number
    bits |= byte
    hash = (hash * 31 + byte) | 0
  }
  if (bits > 0x7f) return readText(length)
  const slot = hash & 4095
  const cached = keyCache[slot]
  pos += length
  if (cached !== undefined && cached.length === length) {
    let i = 0
    while (i < length && cached.charCodeAt(i) === s[start + i]) i++
    if (i === length) return cached
  }
  const key = shortAscii(start, length) as string
  keyCache[slot] = key
  return key
}

function shortAscii(p: number, length: number): string | undefined {
  const s = src
  let bits = 0
  for (let i = p; i < p + length; i++) bits |= s[i] as number
  if (bits > 0x7f) return undefined
  switch (length) {
    case 0:
      return ''
    case 1:
      return fromCharCode(s[p] as number)
    case 2:
      return fromCharCode(s[p] as number, s[p + 1] as number)
    case 3:
      return fromCharCode(s[p] as number, s[p + 1] as number, s[p + 2] as number)
    case 4:
      return fromCharCode(s[p] as number, s[p + 1] as number, s[p + 2] as number, s[p + 3] as number)
    default:
      return s.latin1Slice ? s.latin1Slice(p, p + length) : s.toString('latin1', p, p + length)
  }
}

/** An indefinite-length byte (major 2) or text (major 3) string: definite chunks of the same type up to a break. */
function readChunks(major: 2 | 3): Uint8Array | string {
  const chunks: Array<Uint8Array | string> = []
  for (;;) {
    if (pos >= end) throw truncated()
    const head = src[pos] as number
    if (head === 0xff) {
      pos++
      break
    }
    if (head >> 5 !== major || (head & 0x1f) === 31) {
      throw invalid('an indefinite-length string holds a chunk that is not a definite string of its type', pos)
    }
    pos++
    chunks.push(major === 2 ? readBytes(head & 0x1f) : readText(head & 0x1f))
  }
  return major === 2 ? new Uint8Array(Buffer.concat(chunks as Uint8Array[])) : (chunks as string[]).join('')
}

function isBreak(): boolean {
  if (pos >= end) throw truncated()
  if (src[pos] !== 0xff) return false
  pos++
  return true
}

function readArray(info: number, depth: number): unknown[] {
  if (depth >= MAX_DEPTH) throw tooDeep(pos - 1)
  if (info === 31) {
    const array: unknown[] = []
    while (!isBreak()) array.push(readItem(depth + 1))
    return array
  }
  const length = readArgument(info)
  budget -= length
  if (length > end - pos || budget < 0) throw truncated()
  const array = new Array<unknown>(length)
  for (let i = 0; i < length; i++) array[i] = readItem(depth + 1)
  return array
}

function readMap(info: number, depth: number): Record<string, unknown> | Map<unknown, unknown> {
  if (depth >= MAX_DEPTH) throw tooDeep(pos - 1)
  const length = readArgument(info)
  if (length > (end - pos) / 2) throw truncated()
  const entries = pos
  const object: Record<string, unknown> = {}
  for (let i = 0; length < 0 ? !isBreak() : i < length; i++) {
    if (pos >= end) throw truncated()
    const head = src[pos] as number
    if (head >> 5 !== 3) {
      // a key that is not a text string (or is wrapped in a tag): decode the whole map again, as a Map
      pos = entries
      return readMapEntries(length, depth)
    }
    pos++
    const key = (head & 0x1f) < 16 ? readKey(head & 0x1f) : readText(head & 0x1f)
    const value = readItem(depth + 1)
    if (key === '__proto__') setOwn(object, key, value)
    else object[key] = value
  }
  return object
}

/** A map with a key that is not plainly a text string: a `Map`, unless every key turns out to be text. */
function readMapEntries(length: number, depth: number): Record<string, unknown> | Map<unknown, unknown> {
  const map = new Map<unknown, unknown>()
  let allText = true
  for (let i = 0; length < 0 ? !isBreak() : i < length; i++) {
    const key = readItem(depth + 1)
    if (typeof key !== 'string') allText = false
    map.set(key, readItem(depth + 1))
  }
  if (!allText) return map
  const object: Record<string, unknown> = {}
  for (const [key, value] of map as Map<string, unknown>) setOwn(object, key, value)
  return object
}

function readTag(info: number, depth: number): unknown {
  const at = pos - 1
  if (info === 31) throw invalid('a tag cannot have an indefinite length', at)
  const tag = readArgument(info)
  if (depth >= MAX_DEPTH) throw tooDeep(at)
  switch (tag) {
    case 55799: // self-described CBOR: no meaning of its own
      return readItem(depth + 1)
    case 0: {
      const content = readItem(depth + 1)
      const time = typeof content === 'string' ? parseDate(content) : undefined
      if (time === undefined) throw invalidDate(at, 'an RFC 3339 date-time text (tag 0)')
      return new Date(time)
    }
    case 1: {
      const content = readItem(depth + 1)
      const date = typeof content === 'number' ? new Date(Math.round(content * 1000)) : undefined
      if (date === undefined || Number.isNaN(date.getTime())) {
        throw invalidDate(at, 'a finite number of seconds since 1970 within the Date range (tag 1)')
      }
      return date
    }
    case 2:
    case 3: {
      const content = readItem(depth + 1)
      if (!(content instanceof Uint8Array)) throw invalid(`tag ${tag} (bignum) must hold a byte string`, at)
      const magnitude = content.length === 0 ? 0n : BigInt(`0x${Buffer.from(content).toString('hex')}`)
      const value = tag === 2 ? magnitude : -1n - magnitude
      return value <= MAX_SAFE_BIGINT && value >= -MAX_SAFE_BIGINT ? Number(value) : value
    }
    default:
      throw new DecodeError(
        'DECODE_UNSUPPORTED_TAG',
        `CBOR tag ${tag} at offset ${at} is not supported: the bus carries only dates (tags 0, 1) and big integers (tags 2, 3)`,
        { offset: at },
      )
  }
}

function invalidDate(offset: number, expected: string): DecodeError {
  return new DecodeError('DECODE_INVALID_DATE', `the date at offset ${offset} is not ${expected}`, { offset })
}

function readSimple(info: number): unknown {
  const at = pos - 1
  switch (info) {
    case 20:
      return false
    case 21:
      return true
    case 22:
      return null
    case 25: {
      if (pos + 2 > end) throw truncated()
      const value = halfFloat(src[pos] as number, src[pos + 1] as number)
      pos += 2
      return value
    }
    case 26: {
      if (pos + 4 > end) throw truncated()
      const value = getView().getFloat32(pos)
      pos += 4
      return value
    }
    case 27: {
      if (pos + 8 > end) throw truncated()
      const value = getView().getFloat64(pos)
      pos += 8
      return value
    }
    case 28:
    case 29:
    case 30:
      throw invalid(`reserved additional information ${info}`, at)
    case 31:
      throw invalid('a break (0xff) outside an indefinite-length item', at)
    default: {
      let name = info === 23 ? 'undefined' : `simple value ${info}`
      if (info === 24) {
        if (pos + 1 > end) throw truncated()
        const value = src[pos++] as number
        if (value < 32) throw invalid(`simple value ${value} in a two-byte head`, at)
        name = `simple value ${value}`
      }
      throw new DecodeError(
        'DECODE_UNSUPPORTED_VALUE',
        `CBOR ${name} at offset ${at} is not supported: the bus carries only false, true and null as simple values`,
        { offset: at },
      )
    }
  }
}

function halfFloat(high: number, low: number): number {
  const exponent = (high >> 2) & 0x1f
  const fraction = ((high & 0x03) << 8) | low
  const magnitude =
    exponent === 0
      ? fraction * 2 ** -24
      : exponent === 31
        ? fraction === 0
          ? Number.POSITIVE_INFINITY
          : Number.NaN
        : (fraction + 1024) * 2 ** (exponent - 25)
  return high & 0x80 ? -magnitude : magnitude
}
