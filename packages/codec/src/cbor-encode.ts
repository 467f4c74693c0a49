import { formatDate } from './date.js'
import {
  invalidDate,
  loneSurrogate,
  throughContainer,
  toEncodeError,
  tooDeep,
  unsupportedValue,
} from './encode-failure.js'
import { MAX_DEPTH } from './limits.js'
import { isWellFormed } from './values.js'

// Node's Buffer has native UTF-8 writers that @types/node does not declare; `write` is the fallback.
interface NodeBuffer extends Buffer {
  utf8Write?: (text: string, offset: number, length: number) => number
}

const SLAB_SIZE = 0x4000
const MIN_ROOM = 0x800
const HEADROOM = 16 // bytes always free past `pos` at the start of an item: any header, number or simple value
const UTF8_NATIVE_MIN = 64 // shorter strings are encoded in JS, which beats the native call

// Output goes to a shared slab: each call writes after the previous result and returns a view of
// its own bytes, so no copy is made; a fresh slab is taken when the room left gets small.
let target = Buffer.allocUnsafeSlow(SLAB_SIZE) as NodeBuffer
let view = new DataView(target.buffer, target.byteOffset, target.byteLength)
let pos = 0
let start = 0
let safeEnd = target.length - HEADROOM
let lastLength = 0
let busy = false
const nativeUtf8 = typeof target.utf8Write === 'function'

/**
 * Encodes `value` as one CBOR item the way cbor2 (eventail) does: shortest-form integers, float64
 * for every other finite number, half-precision NaN/±Infinity, definite lengths, maps in key order.
 */
export function encodeCbor(value: unknown): Buffer {
  if (busy) return encodeReentrant(value) // a getter encoding while we encode
  busy = true
  if (target.length - pos < Math.max(MIN_ROOM, lastLength + (lastLength >> 2))) {
    // room for a few messages like the last one; a slab stays alive while any of its results does,
    // so one huge message does not make every later slab huge
    useBuffer(Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, Math.ceil((4 * lastLength) / 4096) * 4096)))
    pos = 0
  }
  start = pos
  try {
    if (value === undefined) throw unsupportedValue(value)
    writeItem(value, 0)
  } catch (error) {
    pos = start
    throw toEncodeError(error)
  } finally {
    busy = false
  }
  lastLength = pos - start
  return target.subarray(start, pos)
}

function encodeReentrant(value: unknown): Buffer {
  const saved = { target, view, pos, start, safeEnd, lastLength }
  busy = false
  useBuffer(Buffer.allocUnsafeSlow(SLAB_SIZE))
  pos = 0
  try {
    return encodeCbor(value)
  } finally {
    ;({ target, view, pos, start, safeEnd, lastLength } = saved)
    busy = true
  }
}

function useBuffer(buffer: Buffer): void {
  target = buffer as NodeBuffer
  view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  safeEnd = buffer.length - HEADROOM
}

/** Makes room up to absolute position `end`, moving the current message to a bigger buffer. */
function grow(end: number): void {
  const used = pos - start
  const size = Math.ceil(Math.max(2 * (end - start), target.length) / 4096) * 4096
  const next = Buffer.allocUnsafeSlow(size)
  target.copy(next, 0, start, pos)
  useBuffer(next)
  start = 0
  pos = used
}

function writeItem(value: unknown, depth: number): void {
  if (pos > safeEnd) grow(pos + HEADROOM)
  switch (typeof value) {
    case 'string':
      writeText(value)
      return
    case 'number':
      writeNumber(value)
      return
    case 'boolean':
      target[pos++] = value ? 0xf5 : 0xf4
      return
    case 'bigint':
      writeBigInt(value)
      return
    case 'object': {
      if (value === null) {
        target[pos++] = 0xf6
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
        writeBytes(0x40, value)
        return
      }
      if (value instanceof Map) {
        writeMap(value, depth + 1)
        return
      }
      if (value instanceof Date) {
        const text = formatDate(value)
        if (text === undefined) throw invalidDate(value)
        target[pos++] = 0xc0 // tag 0: RFC 3339 text
        writeText(text)
        return
      }
      throw unsupportedValue(value)
    }
    default:
      throw unsupportedValue(value)
  }
}

function writeHead(major: number, length: number): void {
  if (length < 24) {
    target[pos++] = major | length
  } else if (length < 0x100) {
    target[pos++] = major | 24
    target[pos++] = length
  } else if (length < 0x10000) {
    target[pos++] = major | 25
    target[pos++] = length >> 8
    target[pos++] = length & 0xff
  } else {
    target[pos++] = major | 26
    view.setUint32(pos, length)
    pos += 4
  }
}

function headSize(length: number): number {
  return length < 24 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
}

/** Rewrites a map header written for `planned` entries after only `actual` were (undefined values skipped). */
function patchHead(offset: number, planned: number, actual: number): void {
  const at = start + offset
  const shrink = headSize(planned) - headSize(actual)
  if (shrink > 0) {
    target.copyWithin(at + headSize(actual), at + headSize(planned), pos)
    pos -= shrink
  }
  const end = pos
  pos = at
  writeHead(0xa0, actual)
  pos = end
}

function writeArray(array: unknown[], depth: number): void {
  const length = array.length
  writeHead(0x80, length)
  let index = 0
  try {
    for (; index < length; index++) {
      const item = array[index]
      writeItem(item === undefined ? null : item, depth) // as JSON.stringify: holes and undefined become null
    }
  } catch (error) {
    throw throughContainer(error, index, array)
  }
}

function writeObject(object: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(object)
  const length = keys.length
  const offset = pos - start
  writeHead(0xa0, length)
  let written = 0
  let index = 0
  try {
    for (; index < length; index++) {
      const key = keys[index] as string
      const item = object[key]
      if (item === undefined) continue // as JSON.stringify: the property is left out
      writeText(key)
      writeItem(item, depth)
      written++
    }
  } catch (error) {
    throw throughContainer(error, keys[index] as string, object)
  }
  if (written !== length) patchHead(offset, length, written)
}

function writeMap(map: Map<unknown, unknown>, depth: number): void {
  const size = map.size
  const offset = pos - start
  writeHead(0xa0, size)
  let written = 0
  let current: unknown
  try {
    for (const [key, item] of map) {
      if (item === undefined) continue
      current = key
      writeItem(key, depth)
      writeItem(item, depth)
      written++
    }
  } catch (error) {
    throw throughContainer(error, { mapKey: current }, map)
  }
  if (written !== size) patchHead(offset, size, written)
}

function writeBytes(major: number, bytes: Uint8Array): void {
  const length = bytes.length
  if (pos + length + HEADROOM > target.length) grow(pos + length + HEADROOM)
  writeHead(major, length)
  target.set(bytes, pos)
  pos += length
}

function writeText(text: string): void {
  const length = text.length
  const maxBytes = length * 3
  if (pos + maxBytes + HEADROOM > target.length) grow(pos + maxBytes + HEADROOM)
  // UTF-8 takes at least one byte per UTF-16 unit, so this header size is a lower bound
  const head = length < 24 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
  let bytes: number
  if (length < UTF8_NATIVE_MIN || !nativeUtf8) {
    let p = pos + head
    for (let i = 0; i < length; i++) {
      const c = text.charCodeAt(i)
      if (c < 0x80) {
        target[p++] = c
      } else if (c < 0x800) {
        target[p++] = 0xc0 | (c >> 6)
        target[p++] = 0x80 | (c & 0x3f)
      } else if ((c & 0xf800) !== 0xd800) {
        target[p++] = 0xe0 | (c >> 12)
        target[p++] = 0x80 | ((c >> 6) & 0x3f)
        target[p++] = 0x80 | (c & 0x3f)
      } else {
        const low = text.charCodeAt(i + 1) // NaN past the end
        if (c > 0xdbff || (low & 0xfc00) !== 0xdc00) throw loneSurrogate()
        const code = 0x10000 + ((c & 0x3ff) << 10) + (low & 0x3ff)
        i++
        target[p++] = 0xf0 | (code >> 18)
        target[p++] = 0x80 | ((code >> 12) & 0x3f)
        target[p++] = 0x80 | ((code >> 6) & 0x3f)
        target[p++] = 0x80 | (code & 0x3f)
      }
    }
    bytes = p - pos - head
  } else {
    if (!isWellFormed(text)) throw loneSurrogate()
    bytes = (target.utf8Write as NonNullable<NodeBuffer['utf8Write']>)(text, pos + head, maxBytes)
  }
  const needed = headSize(bytes)
  if (needed !== head) target.copyWithin(pos + needed, pos + head, pos + head + bytes)
  writeHead(0x60, bytes)
  pos += bytes
}

function writeNumber(value: number): void {
  if (value >>> 0 === value) {
    // 0 to 2^32 - 1, and -0
    if (value < 24) {
      if (value === 0 && 1 / value < 0) writeFloat(value)
      else target[pos++] = value
    } else if (value < 0x100) {
      target[pos++] = 0x18
      target[pos++] = value
    } else if (value < 0x10000) {
      target[pos++] = 0x19
      target[pos++] = value >> 8
      target[pos++] = value & 0xff
    } else {
      target[pos++] = 0x1a
      view.setUint32(pos, value)
      pos += 4
    }
  } else if (value >> 0 === value) {
    // -2^31 to -1
    writeHead(0x20, -1 - value)
  } else if (Number.isSafeInteger(value)) {
    // cbor-x would write these as float64; cbor2 peers expect integers
    if (value > 0) {
      target[pos++] = 0x1b
      writeUint64(value)
    } else if (value >= -0x100000000) {
      target[pos++] = 0x3a
      view.setUint32(pos, -1 - value)
      pos += 4
    } else {
      target[pos++] = 0x3b
      writeUint64(-1 - value)
    }
  } else if (Number.isNaN(value)) {
    target[pos++] = 0xf9 // NaN, half precision as cbor2
    target[pos++] = 0x7e
    target[pos++] = 0x00
  } else if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) {
    target[pos++] = 0xf9
    target[pos++] = value > 0 ? 0x7c : 0xfc
    target[pos++] = 0x00
  } else {
    writeFloat(value)
  }
}

function writeFloat(value: number): void {
  target[pos++] = 0xfb // always 64-bit, as cbor2: never shortened
  view.setFloat64(pos, value)
  pos += 8
}

function writeUint64(value: number): void {
  const high = Math.floor(value / 0x100000000)
  view.setUint32(pos, high)
  view.setUint32(pos + 4, value >>> 0)
  pos += 8
}

const UINT32_MAX = 0xffffffffn
const UINT64_MAX = 0xffffffffffffffffn

function writeBigInt(value: bigint): void {
  const magnitude = value < 0n ? -1n - value : value
  if (magnitude <= UINT32_MAX) {
    writeNumber(Number(value))
  } else if (magnitude <= UINT64_MAX) {
    target[pos++] = value < 0n ? 0x3b : 0x1b
    view.setBigUint64(pos, magnitude)
    pos += 8
  } else {
    // tag 2/3 bignum: the big-endian bytes of the magnitude (of -1 - value for negatives)
    const hex = magnitude.toString(16)
    target[pos++] = value < 0n ? 0xc3 : 0xc2
    writeBytes(0x40, Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'))
  }
}
