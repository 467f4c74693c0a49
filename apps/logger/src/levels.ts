import { LEVELS, levelName } from '@am/protocol'

const ALIASES: Record<string, string> = { WARN: 'WARNING', ERR: 'ERROR', CRIT: 'CRITICAL', EMERG: 'EMERGENCY' }

/**
 * A level given on the command line: a name in any case (`WARNING`, `warning`, also `WARN`,
 * `ERR`, `CRIT`, `EMERG`) or its number 0–7; `undefined` when unknown.
 */
export function parseLevel(value: string): number | undefined {
  if (/^[0-7]$/.test(value)) return Number(value)
  const name = value.toUpperCase()
  const full = levelName(ALIASES[name] ?? name)
  return full === undefined ? undefined : LEVELS[full]
}
