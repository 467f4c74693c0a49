/**
 * A header value as text: AMQP long strings arrive as strings, byte arrays (and strings some
 * clients send as bytes) as `Buffer`s, read as UTF-8. Anything else is `undefined`.
 */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  return undefined
}
