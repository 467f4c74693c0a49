// What amqplib does to a message's properties between `publish()` and the consumer: the same
// defaults (`deliveryMode` from `persistent`, `expiration` as a string, an empty headers table), and
// header values as the AMQP table codec turns them (numbers by size, `{ '!': 'timestamp' }`
// trapdoors kept as such, `undefined` dropped, other objects as tables, buffers copied). Errors are
// the ones amqplib throws, so `publish` rejects with `PUBLISH_INVALID` where the real one does.
import type { MessageProperties } from '@am/bus-core'

/** The publish options that become message properties (amqplib's `Options.Publish`). */
export interface PublishProperties {
  contentType?: string | undefined
  contentEncoding?: string | undefined
  headers?: Record<string, unknown> | undefined
  deliveryMode?: boolean | number | undefined
  persistent?: boolean | undefined
  priority?: number | undefined
  correlationId?: string | undefined
  replyTo?: string | undefined
  expiration?: string | number | undefined
  messageId?: string | undefined
  timestamp?: number | undefined
  type?: string | undefined
  userId?: string | undefined
  appId?: string | undefined
}

/** The properties a consumer sees for a message published with `options`, as amqplib delivers them. @internal */
export function toMessageProperties(options: PublishProperties): MessageProperties {
  let deliveryMode: number | undefined
  if (options.persistent !== undefined) deliveryMode = options.persistent ? 2 : 1
  else if (typeof options.deliveryMode === 'number') deliveryMode = options.deliveryMode
  else if (options.deliveryMode) deliveryMode = 2
  return {
    contentType: options.contentType,
    contentEncoding: options.contentEncoding,
    headers: wireTable(options.headers ?? {}) as MessageProperties['headers'],
    deliveryMode,
    priority: options.priority,
    correlationId: options.correlationId,
    replyTo: options.replyTo,
    expiration: options.expiration === undefined ? undefined : options.expiration.toString(),
    messageId: options.messageId,
    timestamp: options.timestamp,
    type: options.type,
    userId: options.userId,
    appId: options.appId,
    clusterId: undefined,
  }
}

/** A deep copy of delivered properties (each delivery gets its own headers). @internal */
export function copyProperties(properties: MessageProperties): MessageProperties {
  return { ...properties, headers: copyValue(properties.headers ?? {}) as MessageProperties['headers'] }
}

/** A field table as encoded then decoded by amqplib. @internal */
export function wireTable(table: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  // amqplib walks the table with for…in: inherited keys are encoded too.
  for (const key in table) {
    const value = (table as Record<string, unknown>)[key]
    if (value !== undefined) out[key] = wireValue(value)
  }
  return out
}

function wireValue(value: unknown): unknown {
  let type: string = typeof value
  let val = value
  if (value && type === 'object' && Object.hasOwn(value, '!')) {
    val = (value as { value: unknown }).value
    type = (value as { '!': string })['!']
  }
  if (type === 'number') {
    const n = val as number
    // amqplib: floats as doubles, integers by size, 64-bit ones through BigInt (which throws on fractions).
    if (n >= 0x8000000000000000 || (Math.abs(n) < 0x4000000000000 && Math.floor(n) !== n)) return n
    if (n >= -0x80000000 && n < 0x80000000) return n
    return Number(BigInt(n))
  }
  switch (type) {
    case 'string':
      return val
    case 'object':
      if (val === null) return null
      if (Array.isArray(val)) {
        return val.map((item) => {
          if (item === undefined) throw new TypeError('Unknown type to encode: undefined')
          return wireValue(item)
        })
      }
      if (Buffer.isBuffer(val)) return Buffer.from(val)
      return wireTable(val as object)
    case 'boolean':
      return val
    case 'double':
    case 'float64':
    case 'byte':
    case 'int8':
    case 'unsignedbyte':
    case 'uint8':
    case 'short':
    case 'int16':
    case 'unsignedshort':
    case 'uint16':
    case 'int':
    case 'int32':
    case 'unsignedint':
    case 'uint32':
      return Number(val)
    case 'long':
    case 'int64':
      return Number(BigInt(val as number))
    case 'float':
      return Math.fround(Number(val))
    case 'timestamp':
      return { '!': 'timestamp', value: Number(BigInt(val as number)) }
    case 'decimal': {
      const d = val as { places?: number; digits?: number }
      if (
        Object.hasOwn(d, 'places') &&
        Object.hasOwn(d, 'digits') &&
        (d.places as number) >= 0 &&
        (d.places as number) < 256
      ) {
        return { '!': 'decimal', value: { places: d.places, digits: d.digits } }
      }
      throw new TypeError(`Decimal value must be {'places': 0..255, 'digits': uint32}, got ${JSON.stringify(val)}`)
    }
    default:
      throw new TypeError(`Unknown type to encode: ${type}`)
  }
}

function copyValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return Buffer.from(value)
  if (Array.isArray(value)) return value.map(copyValue)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = copyValue(item)
    return out
  }
  return value
}
