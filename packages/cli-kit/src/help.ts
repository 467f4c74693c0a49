/** A section of cac's help output. */
export interface HelpSection {
  title?: string
  body: string
}

/** Options of `singleCommandHelp`. */
export interface SingleCommandHelpOptions {
  /** The binary's name (`am-publish-event`). */
  name: string
  /** What the tool does, in one sentence: the first line reads `<name> — <description>`. */
  description: string
  /** Body of the `Exit codes` section, e.g. from `exitCodesHelp` (`0 ok, 1 failed, …` is split into lines). */
  exitCodes: string
}

/** Where every tool takes its broker URL from, as `--help` says it. */
export const BROKER_URL_HELP =
  '  The first argument when it starts with amqp:// or amqps:// (amqp://user:password@host:port/vhost),\n  else the AMQP_URL environment variable.'

/**
 * A cac help callback for single-command tools (one default command `[...args]`), so that every
 * tool's `--help` has the same shape: `<name> — <description>`, Usage, Broker URL, Options,
 * Examples (each line `  $ …`), Exit codes (one per line); cac's "Commands" and "For more info"
 * sections are dropped and trailing spaces trimmed. `createProgram` installs it.
 * @example
 * cli.help(singleCommandHelp({ name: 'am-x', description: 'publish one event…', exitCodes: exitCodesHelp({ 1: 'failed' }) }))
 */
export function singleCommandHelp(options: SingleCommandHelpOptions): (sections: HelpSection[]) => HelpSection[] {
  return (sections) => {
    const find = (title: string): HelpSection | undefined => sections.find((section) => section.title === title)
    const usage = find('Usage')
    const examples = find('Examples')
    const shaped: Array<HelpSection | undefined> = [
      { body: `${options.name} — ${lowerFirst(options.description)}` },
      usage,
      { title: 'Broker URL', body: BROKER_URL_HELP },
      find('Options'),
      examples && { title: 'Examples', body: examples.body.split('\n').map(exampleLine).join('\n') },
      { title: 'Exit codes', body: exitCodeLines(options.exitCodes) },
    ]
    return shaped
      .filter((section): section is HelpSection => section !== undefined)
      .map((section) => ({ ...section, body: section.body.replace(/[ \t]+$/gm, '') }))
  }
}

/** What the exit codes a tool uses mean, beyond those every tool shares (0, 64, 69, 130). */
export interface ExitCodesHelp {
  /** @default 'ok' */
  0?: string
  /** @default 'failed'; e.g. `the broker refused the message (nack) or returned it`. */
  1?: string
  /** When the tool has a `--timeout`. */
  2?: string
}

/**
 * The `Exit codes` section of a tool's `--help`: the tool's own meanings of 0, 1 and 2, and the
 * shared 64 (usage), 69 (no broker, or it refused the login, the virtual host or TLS) and 130
 * (interrupted).
 */
export function exitCodesHelp(codes: ExitCodesHelp): string {
  return [
    `0 ${codes[0] ?? 'ok'}`,
    `1 ${codes[1] ?? 'failed'}`,
    ...(codes[2] ? [`2 ${codes[2]}`] : []),
    '64 usage error',
    '69 no broker, or it refused the login, the virtual host or the TLS handshake',
    '130 interrupted',
  ].join(', ')
}

function exitCodeLines(text: string): string {
  return text
    .trim()
    .split(/,\s+(?=\d+ )|\n/)
    .map((line) => {
      const [, code = '', meaning = line.trim()] = /^\s*(\d+)\s+(.*)$/.exec(line) ?? []
      return `  ${code.padEnd(4)}${meaning}`
    })
    .join('\n')
}

function exampleLine(line: string): string {
  const command = line.trim().replace(/^\$\s*/, '')
  return command === '' ? '' : `  $ ${command}`
}

/** `Publish one event` → `publish one event`; an initialism (`CBOR …`) stays. */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? `${text[0]?.toLowerCase()}${text.slice(1)}` : text
}
