/**
 * A decoded value made JSON for the browser without losing what JSON cannot say: integers beyond
 * 2^53 as `{ $bigint: "…" }`, bytes as `{ $bytes: "<hex>", length }` (the first `maxBytes` only),
 * maps with keys other than text as `{ $map: [[key, value]…] }`, dates as `{ $date: iso }`,
 * `NaN`/`Infinity` as `{ $number: "NaN" }`, `undefined` as `{ $undefined: true }`. The page shows
 * each as what it is (a big integer, bytes), never as a look-alike string or number.
 */
export function toView(value: unknown, maxBytes = 4096): unknown {
  return convert(value, maxBytes, new Set())
}

function convert(value: unknown, maxBytes: number, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'bigint':
      return { $bigint: value.toString() }
    case 'number':
      return Number.isFinite(value) ? value : { $number: String(value) }
    case 'undefined':
      return { $undefined: true }
    case 'function':
    case 'symbol':
      return String(value)
    case 'object': {
      if (value === null) return null
      if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString() }
      if (value instanceof Uint8Array) return bytesView(value, maxBytes)
      if (seen.has(value)) return '[Circular]'
      seen.add(value)
      try {
        if (Array.isArray(value)) return value.map((item) => convert(item, maxBytes, seen))
        if (value instanceof Map) {
          const entries = [...value.entries()]
          if (entries.every(([key]) => typeof key === 'string')) {
            return Object.fromEntries(entries.map(([key, item]) => [key, convert(item, maxBytes, seen)]))
          }
          return { $map: entries.map(([key, item]) => [convert(key, maxBytes, seen), convert(item, maxBytes, seen)]) }
        }
        if (value instanceof Set) return [...value].map((item) => convert(item, maxBytes, seen))
        const out: Record<string, unknown> = {}
        for (const [key, item] of Object.entries(value)) out[key] = convert(item, maxBytes, seen)
        return out
      } finally {
        seen.delete(value)
      }
    }
    default:
      return value
  }
}

/** Bytes as hex, the first `maxBytes` of them, with their full length. */
export function bytesView(bytes: Uint8Array, maxBytes = 4096): { $bytes: string; length: number } {
  return { $bytes: Buffer.from(bytes.subarray(0, maxBytes)).toString('hex'), length: bytes.length }
}
