/** Syslog severities: GELF `level` and the routing-key suffix of eventail logs (PROTOCOL.md §3.4). */
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

/** The names, by level. */
export const LEVEL_NAMES: readonly LevelName[] = Object.keys(LEVELS) as LevelName[]

const ALIASES: Record<string, LevelName> = { WARN: 'WARNING', ERR: 'ERROR', CRIT: 'CRITICAL', EMERG: 'EMERGENCY' }

/**
 * A level given on the command line: a name in any case (`WARNING`, `warning`, also `WARN`,
 * `ERR`, `CRIT`, `EMERG`) or its number 0–7; `undefined` when unknown.
 */
export function parseLevel(value: string): number | undefined {
  if (/^[0-7]$/.test(value)) return Number(value)
  const name = value.toUpperCase()
  const full = ALIASES[name] ?? name
  return LEVEL_NAMES.includes(full as LevelName) ? LEVELS[full as LevelName] : undefined
}
