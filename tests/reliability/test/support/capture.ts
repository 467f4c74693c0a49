import type { Logger } from '@am/bus-core'

/**
 * Everything a scenario printed, logged or threw, kept to be scanned for the broker password:
 * local loggers, error messages with their stacks and causes, tool output, GELF logs.
 */
export class Capture {
  readonly lines: string[] = []

  /** A logger (for services and supervisors) that records every line, tagged. */
  logger(tag: string): Logger {
    const write =
      (level: string) =>
      (...args: unknown[]): void => {
        this.lines.push(`${tag} ${level} ${args.map(show).join(' ')}`)
      }
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
  }

  /** Records free text (tool output, GELF bodies…). */
  add(text: string): void {
    this.lines.push(text)
  }

  /** Records an error with its stack and its chain of causes. */
  error(error: unknown): void {
    this.lines.push(show(error))
  }

  /** The recorded lines that contain `secret`. */
  find(secret: string | RegExp): string[] {
    return this.lines.filter((line) => (typeof secret === 'string' ? line.includes(secret) : secret.test(line)))
  }
}

function show(value: unknown): string {
  if (!(value instanceof Error)) return typeof value === 'string' ? value : safeJson(value)
  const parts: string[] = []
  let current: unknown = value
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    parts.push(current.stack ?? `${current.name}: ${current.message}`)
    const rest = { ...current } as Record<string, unknown>
    if (Object.keys(rest).length > 0) parts.push(safeJson(rest))
    current = current.cause
  }
  if (current !== undefined && !(current instanceof Error)) parts.push(safeJson(current))
  return parts.join('\ncaused by: ')
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Patterns of the shared broker's `guest` password in a URL or a credentials pair. */
export const GUEST_PASSWORD: RegExp = /guest:guest|:guest@|password['"]?\s*[:=]\s*['"]?guest/i
