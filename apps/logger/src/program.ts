import {
  type CliContext,
  CliError,
  createProgram,
  EXIT,
  exitCodesHelp,
  isBrokerUrl,
  optionValues,
  parseCommonOptions,
  parseNumberOption,
  resolveUrl,
} from '@am/cli-kit'
import { LEVEL_NAMES } from '@am/protocol'
import type { CAC } from 'cac'
import { version } from '../package.json'
import type { LoggerArgs, LoggerOptions } from './commands/logger.js'
import { parseLevel } from './levels.js'

const DESCRIPTION = 'Tail the GELF logs of the bus services (exchange `logs`) until Ctrl-C'

/** Runs the command with the parsed input and returns the exit code. */
export type Runner = (ctx: CliContext, args: LoggerArgs, options: LoggerOptions) => Promise<number>

/** The command table of `am-logger`; `run` is replaced in tests of the argument mapping. */
export function createCli(ctx: CliContext, run: Runner = tailLogsAndExit): CAC {
  const { cli, command } = createProgram({
    name: 'am-logger',
    version,
    description: DESCRIPTION,
    usage: '[url] [--filter PATTERN ...] [options]',
    ndjson: 'One JSON object per log on stdout: { routingKey, log }',
    exitCodes: exitCodesHelp({ 0: 'ok (after --count logs, or Ctrl-C)' }),
  })
  command
    .option('--filter <pattern>', 'Topic pattern of the routing keys `<service>.<LEVEL>` to show, repeatable', {
      default: '#',
    })
    .option('--level <level>', `Minimum severity to show: ${LEVEL_NAMES.join(', ')} or 0-7`)
    .option('--count <n>', 'Exit after showing this many logs')
    .example('  am-logger amqp://guest:guest@localhost/')
    .example("  am-logger amqp://localhost/ --filter '*.ERROR' --filter 'asr.#'")
    .example('  AMQP_URL=amqp://localhost/ am-logger --level WARNING --ndjson | jq .log.short_message')
    .action((positionals: string[], options: Record<string, unknown>) => {
      const input = toInput(positionals, options, cli.rawArgs, ctx.env)
      return run(ctx, input.args, input.options)
    })
  return cli
}

/**
 * cac's positionals and options → the command's arguments. The URL is the positional that starts
 * with amqp:// or amqps:// (else AMQP_URL); other positionals are more patterns after `--filter`
 * (eventail's `--filter A B url` spelling).
 */
export function toInput(
  positionals: string[],
  options: Record<string, unknown>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { args: LoggerArgs; options: LoggerOptions } {
  const urls = positionals.filter((arg) => isBrokerUrl(arg))
  const extra = positionals.filter((arg) => !isBrokerUrl(arg))
  if (urls.length > 1) throw new CliError('CLI_USAGE', 'give one broker URL')
  const given = optionValues(argv, 'filter')
  if (extra.length > 0 && given.length === 0) {
    throw new CliError('CLI_USAGE', `unexpected argument ${JSON.stringify(extra[0])}: patterns go after --filter`)
  }
  const filters = [...given, ...extra]
  if (filters.some((pattern) => pattern === '')) throw new CliError('CLI_USAGE', '--filter needs a pattern')
  let level: number | undefined
  if (options.level !== undefined) {
    const value = optionValues(argv, 'level').at(-1) ?? String(options.level)
    level = parseLevel(value)
    if (level === undefined) {
      throw new CliError('CLI_USAGE', `unknown --level ${JSON.stringify(value)}: use ${LEVEL_NAMES.join(', ')} or 0-7`)
    }
  }
  const count = parseNumberOption('count', options.count, { min: 1 })
  return {
    args: { url: resolveUrl(urls[0], env) },
    options: {
      filters: filters.length > 0 ? [...new Set(filters)] : ['#'],
      ...(level !== undefined ? { level } : {}),
      ...(count !== undefined ? { count } : {}),
      ...parseCommonOptions(options),
    },
  }
}

async function tailLogsAndExit(ctx: CliContext, args: LoggerArgs, options: LoggerOptions): Promise<number> {
  const { tailLogs } = await import('./commands/logger.js')
  await tailLogs(ctx, args, options)
  return EXIT.OK
}
