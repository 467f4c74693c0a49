import {
  type CliContext,
  createProgram,
  EXIT,
  exitCodesHelp,
  parseCommonOptions,
  parseSecondsOption,
  splitPayloadArgs,
} from '@am/cli-kit'
import type { CAC } from 'cac'
import { version } from '../package.json'
import type { PublishConfigurationArgs, PublishConfigurationOptions } from './commands/publish-configuration.js'

const DESCRIPTION =
  "Publish one configuration message from a payload file (sent as JSON or CBOR, as the file is) and wait for the broker's confirm"

/** Runs the command with the parsed input and returns the exit code. */
export type Runner = (
  ctx: CliContext,
  args: PublishConfigurationArgs,
  options: PublishConfigurationOptions,
) => Promise<number>

/** The command table of `am-publish-configuration`; `run` is replaced in tests of the argument mapping. */
export function createCli(ctx: CliContext, run: Runner = publishConfigurationAndExit): CAC {
  const { cli, command } = createProgram({
    name: 'am-publish-configuration',
    version,
    description: DESCRIPTION,
    usage: '[url] <name> <payload_file> [options]',
    ndjson: 'Print the outcome as one JSON object on stdout',
    exitCodes: exitCodesHelp({
      1: 'the broker refused (nack) or returned (unroutable) the configuration',
      2: "no broker's confirm within --timeout",
    }),
  })
  command
    .option('--timeout <seconds>', "Wait at most this long for the broker's confirm", { default: 30 })
    .example('  am-publish-configuration amqp://guest:guest@localhost/ asr.Models models.json')
    .example('  AMQP_URL=amqp://localhost/ am-publish-configuration asr.Models models.cbor --ndjson')
    .example('  echo \'{"model": "fr"}\' | am-publish-configuration amqp://localhost/ asr.Models -')
    .action((positionals: string[], options: Record<string, unknown>) => {
      const input = toInput(positionals, options, ctx.env)
      return run(ctx, input.args, input.options)
    })
  return cli
}

/** cac's positionals and options → the command's arguments (the URL may come from AMQP_URL). */
export function toInput(
  positionals: string[],
  options: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { args: PublishConfigurationArgs; options: PublishConfigurationOptions } {
  const { url, name, payloadFile } = splitPayloadArgs(positionals, env, '<name>')
  return {
    args: { url, name, payloadFile },
    options: {
      timeoutMs: parseSecondsOption('timeout', options.timeout) ?? 30_000,
      ...parseCommonOptions(options),
    },
  }
}

async function publishConfigurationAndExit(
  ctx: CliContext,
  args: PublishConfigurationArgs,
  options: PublishConfigurationOptions,
): Promise<number> {
  const { publishConfiguration } = await import('./commands/publish-configuration.js')
  const result = await publishConfiguration(ctx, args, options)
  return result.status === 'confirmed' ? EXIT.OK : EXIT.FAILED
}
