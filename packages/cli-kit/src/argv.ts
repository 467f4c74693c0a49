import { CliError } from './errors.js'

/**
 * Rewrites snake_case long options to kebab-case (`--batch_size 5` → `--batch-size 5`,
 * `--filter_fields=a=1` → `--filter-fields=a=1`), so that eventail's spellings and the kebab-case
 * ones reach cac as the same option. Arguments after `--` are left alone.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = []
  let options = true
  for (const arg of argv) {
    if (arg === '--') options = false
    if (options && arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=')
      const name = eq === -1 ? arg : arg.slice(0, eq)
      out.push(name.replaceAll('_', '-') + (eq === -1 ? '' : arg.slice(eq)))
    } else out.push(arg)
  }
  return out
}

/** Options of `parseNumberOption`. */
export interface NumberOptionRules {
  /** @default 0 */
  min?: number
  /** @default true */
  integer?: boolean
}

/**
 * Reads a numeric option value as cac hands it (number, string, or an array when repeated: the
 * last one wins); `undefined` stays `undefined`.
 * @throws {CliError} `CLI_USAGE` naming the option when it is not a number in range.
 */
export function parseNumberOption(name: string, value: unknown, rules: NumberOptionRules = {}): number | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value
  if (last === undefined) return undefined
  const { min = 0, integer = true } = rules
  const number =
    typeof last === 'number' ? last : typeof last === 'string' && last.trim() !== '' ? Number(last) : Number.NaN
  if (!Number.isFinite(number) || number < min || (integer && !Number.isInteger(number))) {
    throw new CliError(
      'CLI_USAGE',
      `--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(String(last))}`,
    )
  }
  return number
}

/** A string option that may be repeated, as a list (`--filter a --filter b` → `['a', 'b']`). */
export function listOption(value: unknown): string[] {
  if (value === undefined || value === null || value === false) return []
  return (Array.isArray(value) ? value : [value]).map(String)
}
