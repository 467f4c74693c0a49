import { normalizeArgv } from '@am/cli-kit'

/**
 * Lets a repeatable option take several values after one flag, as eventail's argparse `nargs='+'`
 * does: `--filter A B` becomes `--filter A --filter B`, which cac collects into a list. A value
 * list ends at the next option, at `--`, or at a broker URL (so `--filter A amqp://… dlq` works;
 * without the URL, put the queue before `--filter`).
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

/**
 * cac 7.1 registers boolean flags under their camelCase name while its parser (mri) sees the
 * kebab-case spelling, so `--dry-run dlq` would take `dlq` as the flag's value. The camelCase
 * spelling is what mri knows as boolean.
 */
function protectBooleans(argv: readonly string[], names: readonly string[]): string[] {
  const rename = new Map(
    names.map((name) => [`--${name}`, `--${name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())}`]),
  )
  const end = argv.indexOf('--')
  return argv.map((arg, i) => ((end === -1 || i < end) && rename.get(arg)) || arg)
}

/** The argv as cac should see it: kebab-case spellings (cli-kit), `--filter A B` expanded, `--dry-run` safe. */
export function prepareArgv(argv: readonly string[]): string[] {
  return protectBooleans(expandVariadic(normalizeArgv(argv), ['filter']), ['dry-run'])
}
