/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the range of Python's `datetime`. */
const MIN_DATE_MS = -62135596800000
const MAX_DATE_MS = 253402300799999

/**
 * The RFC 3339 text that cbor2 writes for a UTC datetime (`isoformat()` with `Z`): no fraction
 * when the milliseconds are zero, otherwise six digits (`2020-01-02T03:04:05.123000Z`).
 * Returns `undefined` for an invalid date or one outside the years 1–9999.
 */
export function formatDate(date: Date): string | undefined {
  const time = date.getTime()
  if (!(time >= MIN_DATE_MS && time <= MAX_DATE_MS)) return undefined
  const iso = date.toISOString() // 2020-01-02T03:04:05.123Z for years 1-9999
  const millis = iso.slice(20, 23)
  return millis === '000' ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${millis}000Z`
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/

/**
 * Parses an RFC 3339 date-time (the content of CBOR tag 0) to epoch milliseconds; digits below
 * the millisecond are dropped. Returns `undefined` when the text is not a valid date-time.
 */
export function parseDate(text: string): number | undefined {
  const m = RFC3339.exec(text)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const millis = m[7] === undefined ? 0 : Number(`${m[7]}00`.slice(0, 3))
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, millis)
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    return undefined // out-of-range field such as month 13, February 30 or second 60
  }
  let time = date.getTime()
  if (m[8] !== undefined) {
    const offsetHours = Number(m[9])
    const offsetMinutes = Number(m[10])
    if (offsetHours > 23 || offsetMinutes > 59) return undefined
    time -= (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000
  }
  return time
}
