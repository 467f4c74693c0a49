import { normalizeArgv } from '@am/cli-kit'

/**
 * Lets a repeatable option take several values after one flag, as eventail's argparse `nargs='+'`
 * does: `--events A B --commands C` becomes `--events A --events B --commands C`, which cac
 * collects into arrays. A value list ends at the next option, at `--`, or at a broker URL (the
 * URL is never a pattern). Spellings are expected kebab-case already (cli-kit's `normalizeArgv`).
 */
export function expandVariadic(argv: readonly string[], names: readonly string[]): string[] {
  const flags = new Set(names.map((name) => `--${name}`))
  const out: string[] = []
  let current: string | undefined
  let options = true
  for (const arg of argv) {
    if (!options) {
      out.push(arg)
      continue
    }
    if (arg === '--') {
      options = false
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

/** Options of am-monitor that take several values after one flag. */
export const VARIADIC = ['events', 'commands', 'configurations', 'filter-fields'] as const

/**
 * The argv as cac should see it: eventail's snake_case spellings as kebab-case (cli-kit), and the
 * pattern lists of eventail's `nargs='+'` options expanded.
 */
export function prepareArgv(argv: readonly string[]): string[] {
  return expandVariadic(normalizeArgv(argv), VARIADIC)
}
