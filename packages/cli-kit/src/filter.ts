/** One `--filter-fields field=value` condition, its value typed. */
export interface FieldFilter {
  field: string
  /** The value as JSON (`123` → number, `true`, `null`, `"123"` → string), else the text itself. */
  value: unknown
}

/**
 * Parses `field=value`, splitting at the first `=` only (`a=b=c` → field `a`, value `b=c`). The
 * value is read as JSON when it is JSON (`client_id=123` is the number 123, `name="123"` the
 * string), otherwise it is the text (`name=abc`); integers beyond 2^53 stay exact (bigint).
 * Returns undefined when there is no `=` or no field name.
 */
export function parseFieldFilter(text: string): FieldFilter | undefined {
  const eq = text.indexOf('=')
  if (eq <= 0) return undefined
  const field = text.slice(0, eq)
  const raw = text.slice(eq + 1)
  if (/^-?\d+$/.test(raw)) {
    const number = Number(raw)
    return { field, value: Number.isSafeInteger(number) ? number : BigInt(raw) }
  }
  try {
    return { field, value: JSON.parse(raw) as unknown }
  } catch {
    return { field, value: raw }
  }
}

/**
 * Whether a decoded payload passes every filter: it must be a map (object or `Map`) holding each
 * field with an equal value. Anything else (array, string, null, bytes) simply does not match.
 */
export function matchesFilters(payload: unknown, filters: readonly FieldFilter[]): boolean {
  if (filters.length === 0) return true
  for (const { field, value } of filters) {
    const found = fieldOf(payload, field)
    if (!found.present || !isEqual(found.value, value)) return false
  }
  return true
}

function fieldOf(payload: unknown, field: string): { present: boolean; value?: unknown } {
  if (payload instanceof Map)
    return payload.has(field) ? { present: true, value: payload.get(field) } : { present: false }
  if (!isPlainObject(payload)) return { present: false }
  return Object.hasOwn(payload, field) ? { present: true, value: payload[field] } : { present: false }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Deep equality of decoded values; integers compare by value whether number or bigint. */
function isEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = toBigInt(a)
    const y = toBigInt(b)
    return x !== undefined && y !== undefined && x === y
  }
  if (Object.is(a, b) || a === b) return true
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => isEqual(item, b[i]))
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a)
    return (
      keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && isEqual(a[key], b[key]))
    )
  }
  return false
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  return undefined
}
