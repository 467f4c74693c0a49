import {
  type CliContext,
  CliError,
  createProgram,
  EXIT,
  exitCodesHelp,
  optionValues,
  parseCommonOptions,
  splitUrl,
} from '@am/cli-kit'
import { redactUrl } from '@am/errors'
import { DEAD_LETTERS } from '@am/protocol'
import type { CAC } from 'cac'
import { version } from '../package.json'
import type { SetupDlxArgs, SetupDlxOptions } from './commands/setup-dlx.js'

const DESCRIPTION =
  'Create the dead-letter exchange and queue, and apply the dead-letter policy to the service queues (or print the rabbitmqctl command)'

/** Runs the command with the parsed input and returns the exit code. */
export type Runner = (ctx: CliContext, args: SetupDlxArgs, options: SetupDlxOptions) => Promise<number>

/** The command table of `am-setup-dlx`; `run` is replaced in tests of the argument mapping. */
export function createCli(ctx: CliContext, run: Runner = setupDlxAndExit): CAC {
  const { cli, command } = createProgram({
    name: 'am-setup-dlx',
    version,
    description: DESCRIPTION,
    usage: '[url] [options]',
    ndjson: 'Print what was done as one JSON object on stdout',
    exitCodes: exitCodesHelp({ 1: 'failed (e.g. the management API refused the policy)' }),
  })
  command
    .option('--management-url <url>', 'Management HTTP API (default: http://<broker host>:15672/, AMQP credentials)')
    .option('--exchange <name>', 'Dead-letter exchange (topic, durable)', { default: DEAD_LETTERS.exchange })
    .option('--queue <name>', 'Queue collecting every dead letter (durable, bound with #)', {
      default: DEAD_LETTERS.queue,
    })
    .option('--pattern <regex>', 'Queues the policy applies to', { default: DEAD_LETTERS.pattern })
    .option('--policy-name <name>', 'Policy name (eventail calls it DLX)', { default: DEAD_LETTERS.policyName })
    .example('  am-setup-dlx amqp://admin:secret@rabbit/prod')
    .example('  am-setup-dlx amqp://admin:secret@rabbit/prod --management-url https://rabbit-admin.example.com/')
    .example("  AMQP_URL=amqp://localhost/ am-setup-dlx --pattern '^billing\\.(events|commands)$' --ndjson")
    .action((positionals: string[], options: Record<string, unknown>) => {
      const input = toInput(positionals, options, cli.rawArgs, ctx.env)
      return run(ctx, input.args, input.options)
    })
  return cli
}

/** cac's positionals and options → the command's arguments (the URL may come from AMQP_URL). */
export function toInput(
  positionals: string[],
  options: Record<string, unknown>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { args: SetupDlxArgs; options: SetupDlxOptions } {
  const { url, rest } = splitUrl(positionals, env)
  if (rest.length > 0) throw new CliError('CLI_USAGE', `unexpected argument ${JSON.stringify(rest[0])}; see --help`)
  const text = (name: string, fallback: string): string => {
    const value = optionValues(argv, name).at(-1) ?? fallback
    if (value === '') throw new CliError('CLI_USAGE', `--${name} cannot be empty`)
    return value
  }
  const managementUrl = optionValues(argv, 'management-url').at(-1)
  if (managementUrl !== undefined && !URL.canParse(managementUrl)) {
    throw new CliError('CLI_USAGE', `--management-url is not a URL: ${redactUrl(managementUrl)}`)
  }
  const pattern = text('pattern', DEAD_LETTERS.pattern)
  try {
    new RegExp(pattern)
  } catch (error) {
    throw new CliError('CLI_USAGE', `--pattern is not a regular expression: ${(error as Error).message}`)
  }
  return {
    args: { url },
    options: {
      ...(managementUrl !== undefined ? { managementUrl } : {}),
      exchange: text('exchange', DEAD_LETTERS.exchange),
      queue: text('queue', DEAD_LETTERS.queue),
      pattern,
      policyName: text('policy-name', DEAD_LETTERS.policyName),
      ...parseCommonOptions(options),
    },
  }
}

async function setupDlxAndExit(ctx: CliContext, args: SetupDlxArgs, options: SetupDlxOptions): Promise<number> {
  const { setupDlx } = await import('./commands/setup-dlx.js')
  await setupDlx(ctx, args, options)
  return EXIT.OK
}
