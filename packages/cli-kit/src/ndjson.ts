import type { CliContext } from './context.js'

/**
 * A copy of a decoded value that `JSON.stringify` renders without loss or crash: bigint → number
 * when exact, else a decimal string; `Uint8Array` → `{ "$bytes": "<base64>" }`; `Map` → object
 * when every key is a string, else an array of `[key, value]` pairs; `Date` → ISO string;
 * non-finite numbers → `"NaN"`, `"Infinity"`, `"-Infinity"`; `undefined` in arrays → `null`.
 */
export function toJsonSafe(value: unknown): unknown {
  return convert(value, new Set())
}

function convert(value: unknown, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value.toString()
    case 'number':
      return Number.isFinite(value) ? value : String(value)
    case 'object': {
      if (value === null) return null
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
      if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') }
      if (seen.has(value)) return '[Circular]'
      seen.add(value)
      try {
        if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : convert(item, seen)))
        if (value instanceof Map) {
          const entries = [...value.entries()]
          if (entries.every(([key]) => typeof key === 'string')) {
            return Object.fromEntries(entries.map(([key, item]) => [key, convert(item, seen)]))
          }
          return entries.map(([key, item]) => [convert(key, seen), convert(item, seen)])
        }
        const out: Record<string, unknown> = {}
        for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = convert(item, seen)
        return out
      } finally {
        seen.delete(value)
      }
    }
    case 'function':
    case 'symbol':
      return String(value)
    default:
      return value
  }
}

/** Writes one NDJSON line (the object made JSON-safe) to `ctx.stdout`. */
export function writeNdjson(ctx: CliContext, object: unknown): void {
  ctx.stdout.write(`${JSON.stringify(toJsonSafe(object))}\n`)
}
