/**
 * Header values as amqplib decodes them, made readable: AMQP timestamps (`{ '!': 'timestamp',
 * value: seconds }`, as in `x-death[].time`) become `Date`s, other typed values their `value`;
 * nested tables and arrays are walked.
 */
export function readableHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(headers)) out[key] = readable(value)
  return out
}

function readable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readable)
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value
  const typed = value as { '!'?: unknown; value?: unknown }
  if (typeof typed['!'] === 'string' && 'value' in typed) {
    return typed['!'] === 'timestamp' && typeof typed.value === 'number' ? new Date(typed.value * 1000) : typed.value
  }
  return readableHeaders(value as Record<string, unknown>)
}
