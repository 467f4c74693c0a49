import { hostname } from 'node:os'
import { ServiceError } from './errors.js'

/** Syslog severities used as GELF levels and routing-key suffixes (PROTOCOL.md §3.4). */
export const LEVELS = {
  EMERGENCY: 0,
  ALERT: 1,
  CRITICAL: 2,
  ERROR: 3,
  WARNING: 4,
  NOTICE: 5,
  INFO: 6,
  DEBUG: 7,
} as const

/** A level name. */
export type LevelName = keyof typeof LEVELS

const NAMES = Object.keys(LEVELS) as LevelName[]

/** What a log carries besides its level and short message. */
export interface LogOptions {
  /** Long text, e.g. a stack trace. @default '' */
  full?: string
  /** @default '' */
  conversationId?: string
  /** Additional fields: prefixed with `_` when they are not; reserved names are renamed `_extra_<name>`. */
  fields?: Record<string, string | number | boolean | null>
}

const RESERVED = new Set([
  '_id',
  '_levelname',
  '_conversation_id',
  '_logical_service',
  '_worker_pid',
  '_version',
  '_short_message',
  '_full_message',
  '_level',
  '_host',
  '_timestamp',
])

/** A GELF 1.1 record ready to publish: its routing key and body. @internal */
export function gelf(
  service: string,
  level: LevelName | number,
  short: string,
  options: LogOptions = {},
): { routingKey: string; body: Buffer } {
  const levelNumber = typeof level === 'number' ? level : LEVELS[level]
  const levelName = NAMES[levelNumber]
  if (!Number.isInteger(levelNumber) || levelName === undefined) {
    // eventail labels level 8 EMERGENCY (level % 8): B21.
    throw new ServiceError('LOG_INVALID_LEVEL', `log level must be 0 (EMERGENCY) to 7 (DEBUG), got ${String(level)}`)
  }
  const record: Record<string, string | number | boolean | null> = {
    version: '1.1',
    short_message: short,
    full_message: options.full ?? '',
    level: levelNumber,
    _levelname: levelName,
    host: `${service}@${hostname()}`,
    timestamp: Date.now() / 1000,
    _conversation_id: options.conversationId ?? '',
    _logical_service: service,
    // read at log time, not at import time (eventail's B19)
    _worker_pid: process.pid,
  }
  for (const [key, value] of Object.entries(options.fields ?? {})) {
    const name = key.startsWith('_') ? key : `_${key}`
    record[RESERVED.has(name) || name in record ? `_extra${name}` : name] = value
  }
  return { routingKey: `${service}.${levelName}`, body: Buffer.from(pythonJson(record), 'ascii') }
}

/** `json.dumps` of a flat record as Python writes it: `", "`/`": "` separators, ASCII with \u escapes. */
function pythonJson(record: Record<string, string | number | boolean | null>): string {
  const parts: string[] = []
  for (const [key, value] of Object.entries(record)) parts.push(`${asciiString(key)}: ${scalar(value)}`)
  return `{${parts.join(', ')}}`
}

function scalar(value: string | number | boolean | null): string {
  if (typeof value === 'string') return asciiString(value)
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null'
  return String(value)
}

function asciiString(value: string): string {
  // JSON.stringify escapes quotes, backslashes and controls; then non-ASCII as \uXXXX (surrogates included).
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
