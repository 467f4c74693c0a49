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

/** Options of `normalizeArgv`. */
export interface NormalizeArgvOptions {
  /**
   * Options that take several values after one flag, as eventail's argparse `nargs='+'` does
   * (`--filter A B`), kebab-case.
   * @default []
   */
  variadic?: readonly string[]
  /** Boolean options with a dash in their name (`dry-run`), kebab-case; see `normalizeArgv`. @default [] */
  booleans?: readonly string[]
}

/**
 * The argv as cac should see it. Rewrites snake_case long options to kebab-case (`--batch_size 5`
 * → `--batch-size 5`, `--filter_fields=a=1` → `--filter-fields=a=1`), so that eventail's spellings
 * and the kebab-case ones reach cac as the same option. A lone `-` (stdin) is kept as a placeholder
 * that `splitUrl` turns back into `-` (cac would drop it). Arguments after `--` are left alone.
 *
 * `variadic` options take every value after their flag (`--events A B` → `--events A --events B`,
 * which cac collects into a list) up to the next option, `--` or a broker URL. `booleans` are
 * passed under their camelCase name: cac 7.1 registers boolean flags that way while its parser
 * sees the kebab-case spelling, so `--dry-run dlq` would take `dlq` as the flag's value.
 * @example
 * cli.parse(normalizeArgv(process.argv, { variadic: ['filter'], booleans: ['dry-run'] }), { run: false })
 */
export function normalizeArgv(argv: readonly string[], options: NormalizeArgvOptions = {}): string[] {
  const out: string[] = []
  let isOption = true
  for (const arg of argv) {
    if (arg === '--') isOption = false
    if (isOption && arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=')
      const name = eq === -1 ? arg : arg.slice(0, eq)
      out.push(name.replaceAll('_', '-') + (eq === -1 ? '' : arg.slice(eq)))
    } else out.push(isOption && arg === '-' ? DASH : arg)
  }
  return protectBooleans(expandVariadic(out, options.variadic ?? []), options.booleans ?? [])
}

/** `--name A B` → `--name A --name B` for the given options, up to the next option, `--` or a URL. */
function expandVariadic(argv: readonly string[], names: readonly string[]): string[] {
  if (names.length === 0) return [...argv]
  const flags = new Set(names.map((name) => `--${name}`))
  const out: string[] = []
  let current: string | undefined
  let isOption = true
  for (const arg of argv) {
    if (!isOption) {
      out.push(arg)
      continue
    }
    if (arg === '--') {
      isOption = false
      current = undefined
      out.push(arg)
    } else if (arg.startsWith('-') && arg !== '-') {
      current = flags.has(arg) ? arg : undefined
      out.push(arg)
    } else if (current !== undefined && !/^amqps?:\/\//i.test(arg)) {
      // The first value follows its flag already; later ones get a copy of the flag.
      if (out.at(-1) !== current) out.push(current)
      out.push(arg)
    } else {
      current = undefined
      out.push(arg)
    }
  }
  return out
}

// TODO [cac@>7.1]: drop once cac's parser knows kebab-case boolean flags.
function protectBooleans(argv: readonly string[], names: readonly string[]): string[] {
  if (names.length === 0) return [...argv]
  const rename = new Map(
    names.map((name) => [`--${name}`, `--${name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())}`]),
  )
  const end = argv.indexOf('--')
  return argv.map((arg, i) => ((end === -1 || i < end) && rename.get(arg)) || arg)
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
  const number = toNumber(last)
  if (!Number.isFinite(number) || number < min || (integer && !Number.isInteger(number))) {
    throw new CliError(
      'CLI_USAGE',
      `--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(String(last))}`,
    )
  }
  return number
}

/**
 * Reads a duration option given in seconds (`--timeout 30`, `--connect-timeout 0.5`), as cac hands
 * it (the last one wins when repeated), and returns it in milliseconds; `undefined` stays `undefined`.
 * @throws {CliError} `CLI_USAGE` naming the option when it is not a number of seconds above 0.
 */
export function parseSecondsOption(name: string, value: unknown): number | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value
  if (last === undefined) return undefined
  const seconds = toNumber(last)
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new CliError('CLI_USAGE', `--${name} must be a number of seconds > 0, got ${JSON.stringify(String(last))}`)
  }
  return Math.max(1, Math.round(seconds * 1000))
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value
  return typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN
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
