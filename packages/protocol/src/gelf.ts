import { hostname } from 'node:os'
import { ProtocolError } from './errors.js'

/** Syslog severities: GELF levels and the routing-key suffix of logs on the `logs` exchange. */
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

/** The names, by level number. */
export const LEVEL_NAMES: readonly LevelName[] = Object.keys(LEVELS) as LevelName[]

/** The name of a level given by name or number; `undefined` outside 0–7 (no wrapping, eventail's B21, docs/eventail-defects.md). */
export function levelName(level: string | number): LevelName | undefined {
  if (typeof level === 'number') return Number.isInteger(level) ? LEVEL_NAMES[level] : undefined
  return LEVEL_NAMES.includes(level as LevelName) ? (level as LevelName) : undefined
}

/** What a log carries besides its level and short message. */
export interface LogOptions {
  /** Long text, e.g. a stack trace. @default '' */
  full?: string
  /** @default '' */
  conversationId?: string
  /** Additional fields: prefixed with `_` when they are not; reserved names are renamed `_extra_<name>`. */
  fields?: Record<string, string | number | boolean | null>
}

/** A GELF record ready to publish on the `logs` exchange. */
export interface GelfMessage {
  /** `<service>.<LEVEL NAME>`. */
  routingKey: string
  /** The record, as eventail's `json.dumps` writes it (ASCII). */
  body: Buffer
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

let host: string | undefined

/** A GELF 1.1 record as eventail writes it: its routing key and body. Throws `LOG_INVALID_LEVEL`. */
export function gelf(service: string, level: LevelName | number, short: string, options: LogOptions = {}): GelfMessage {
  const name = levelName(level)
  if (name === undefined) {
    throw new ProtocolError('LOG_INVALID_LEVEL', `log level must be 0 (EMERGENCY) to 7 (DEBUG), got ${String(level)}`)
  }
  host ??= hostname()
  const record: Record<string, string | number | boolean | null> = {
    version: '1.1',
    short_message: short,
    full_message: options.full ?? '',
    level: LEVELS[name],
    _levelname: name,
    host: `${service}@${host}`,
    timestamp: Date.now() / 1000,
    _conversation_id: options.conversationId ?? '',
    _logical_service: service,
    // read at log time, not at import time (eventail's B19, docs/eventail-defects.md)
    _worker_pid: process.pid,
  }
  for (const [key, value] of Object.entries(options.fields ?? {})) {
    const field = key.startsWith('_') ? key : `_${key}`
    record[RESERVED.has(field) || field in record ? `_extra${field}` : field] = value
  }
  return { routingKey: `${service}.${name}`, body: Buffer.from(pythonJson(record), 'ascii') }
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
