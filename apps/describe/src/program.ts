import { type CliContext, CliError, EXIT } from '@am/cli-kit'
import { type CAC, cac } from 'cac'
import { version } from '../package.json'
import type { DescribeArgs, DescribeCommandOptions } from './commands/describe.js'

const NAME = 'am-describe'
const DESCRIPTION =
  'Print the AsyncAPI 3.0 document of a service, from its handler table, schemas and declared publications'

/** Runs the command with the parsed input and returns the exit code. */
export type Runner = (ctx: CliContext, args: DescribeArgs, options: DescribeCommandOptions) => Promise<number>

const EXIT_CODES = [
  ['0', 'ok: the document is on stdout'],
  ['1', 'the module cannot be loaded, exports no service, or describe() failed'],
  ['64', 'usage error (several services and no --export, an unknown --format)'],
]

/**
 * The help of `am-describe`: the shape every tool's `--help` has (first line, Usage, Options,
 * Examples, Exit codes), without the Broker URL section: the tool connects to nothing.
 */
function help(sections: Array<{ title?: string; body: string }>): Array<{ title?: string; body: string }> {
  const find = (title: string) => sections.find((section) => section.title === title)
  const examples = find('Examples')
  const shaped = [
    { body: `${NAME} — ${DESCRIPTION.charAt(0).toLowerCase()}${DESCRIPTION.slice(1)}` },
    find('Usage'),
    find('Options'),
    examples && {
      title: 'Examples',
      body: examples.body
        .split('\n')
        .map((line) => `  $ ${line.trim()}`)
        .join('\n'),
    },
    {
      title: 'Exit codes',
      body: EXIT_CODES.map(([code, meaning]) => `  ${(code as string).padEnd(4)}${meaning}`).join('\n'),
    },
  ]
  return shaped
    .filter((section): section is { title?: string; body: string } => section !== undefined)
    .map((section) => ({ ...section, body: section.body.replace(/[ \t]+$/gm, '') }))
}

/** The command table of `am-describe`; `run` is replaced in tests of the argument mapping. */
export function createCli(ctx: CliContext, run: Runner = describeAndExit): CAC {
  const cli = cac(NAME)
  cli
    .command('[...args]', DESCRIPTION)
    .usage('<service_module> [options]')
    .option('--format <format>', 'yaml or json', { default: 'yaml' })
    .option('--export <name>', 'The export to describe, when the module exports several services')
    .option('--doc-version <version>', "info.version (default: the version of the module's package.json)")
    .example('  am-describe dist/welcome.js > asyncapi.yaml')
    .example('  am-describe dist/services.js --export Welcome --format json')
    .action((positionals: string[], options: Record<string, unknown>) => {
      const input = toInput(positionals, options)
      return run(ctx, input.args, input.options)
    })
  cli.help(help)
  cli.version(version)
  // cac prints `<name>/<version> <platform>`: the bare version is what scripts compare.
  cli.globalCommand.outputVersion = () => console.info(version)
  return cli
}

/** cac's positionals and options → the command's arguments. */
export function toInput(
  positionals: string[],
  options: Record<string, unknown>,
): { args: DescribeArgs; options: DescribeCommandOptions } {
  if (positionals.length !== 1) {
    throw new CliError('CLI_USAGE', `expected one service module, got ${positionals.length} arguments`)
  }
  const format = String(options.format)
  if (format !== 'yaml' && format !== 'json') {
    throw new CliError('CLI_USAGE', `--format must be yaml or json, got '${format}'`)
  }
  const text = (value: unknown): string | undefined => (value === undefined ? undefined : String(value))
  const exportName = text(options.export)
  const docVersion = text(options.docVersion)
  return {
    args: { module: positionals[0] as string },
    options: {
      format,
      ...(exportName !== undefined ? { exportName } : {}),
      ...(docVersion !== undefined ? { docVersion } : {}),
    },
  }
}

async function describeAndExit(ctx: CliContext, args: DescribeArgs, options: DescribeCommandOptions): Promise<number> {
  const { describeModule } = await import('./commands/describe.js')
  await describeModule(ctx, args, options)
  return EXIT.OK
}
