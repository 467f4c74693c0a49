import { headerText } from './headers.js'

/** One entry of a dead letter's `x-death` header, with plain values. */
export interface DeathRecord {
  /** How many times the message died in `queue` for `reason`. */
  count: number
  /** `rejected`, `expired`, `maxlen` or `delivery_limit`. */
  reason: string
  /** The queue it died in. */
  queue: string
  /** When it last died there, in seconds since the epoch; `NaN` when the entry has no time. */
  time: number
  /** The exchange it was published to before dying; `''` for the default exchange. */
  exchange: string
  /** Its routing keys (CC and BCC included) when it was published. */
  routingKeys: string[]
}

/**
 * The `x-death` header of a message, newest first as the broker keeps it; `[]` when it never
 * died. Values come as amqplib decodes them (strings or `Buffer`s, typed values, `Date`s).
 */
export function readDeaths(headers: Record<string, unknown> | undefined): DeathRecord[] {
  const entries = headers?.['x-death']
  if (!Array.isArray(entries)) return []
  return entries.filter(isTable).map((entry) => {
    const keys = entry['routing-keys']
    return {
      count: Number(plain(entry.count)),
      reason: headerText(entry.reason) ?? '',
      queue: headerText(entry.queue) ?? '',
      time: seconds(plain(entry.time)),
      exchange: headerText(entry.exchange) ?? '',
      routingKeys: Array.isArray(keys) ? keys.map((key: unknown) => headerText(key) ?? String(key)) : [],
    }
  })
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

/** A typed header value (`{ '!': 'timestamp', value }`) as its value. */
function plain(value: unknown): unknown {
  return isTable(value) && '!' in value && 'value' in value ? value.value : value
}

function seconds(value: unknown): number {
  return value instanceof Date ? value.getTime() / 1000 : Number(value)
}
