import { CliError } from './errors.js'

/**
 * What `normalizeArgv` puts in place of a lone `-` (stdin), which cac's parser would otherwise
 * drop; `splitUrl` and `readPayload` turn it back into `-`.
 * @internal
 */
export const DASH = '\u0000-'

/** A lone `-` back from `normalizeArgv`'s placeholder. @internal */
export function restoreDash(value: string): string {
  return value === DASH ? '-' : value
}

/**
 * Rewrites snake_case long options to kebab-case (`--batch_size 5` → `--batch-size 5`,
 * `--filter_fields=a=1` → `--filter-fields=a=1`), so that eventail's spellings and the kebab-case
 * ones reach cac as the same option. Arguments after `--` are left alone. A lone `-` (stdin) is
 * kept as a placeholder that `splitUrl` turns back into `-` (cac would drop it).
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
    } else out.push(options && arg === '-' ? DASH : arg)
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

/**
 * The values of a string option exactly as typed, in order, read from the (normalized) argv:
 * `--name value` and `--name=value`, up to `--`. cac's parser turns numeric-looking values into
 * numbers (`--conversation-id 0123` → 123, `0x10` → 16); use this for ids, names and patterns.
 * @example
 * const conversationId = optionValues(cli.rawArgs, 'conversation-id').at(-1)
 */
export function optionValues(argv: readonly string[], name: string): string[] {
  const values: string[] = []
  const flag = `--${name}`
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') break
    if (arg === flag) {
      const next = argv[i + 1]
      if (next !== undefined && next !== '--') {
        values.push(restoreDash(next))
        i++
      }
    } else if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1))
  }
  return values
}
