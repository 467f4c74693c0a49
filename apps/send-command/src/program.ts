import {
  type CliContext,
  createProgram,
  EXIT,
  exitCodesHelp,
  optionValues,
  parseCommonOptions,
  parseSecondsOption,
  splitPayloadArgs,
} from '@am/cli-kit'
import type { CAC } from 'cac'
import { version } from '../package.json'
import type { SendCommandArgs, SendCommandOptions } from './commands/send-command.js'

const DESCRIPTION = 'Send a command from a payload file (sent as JSON or CBOR, as the file is) and wait for its result'

/** Runs the command with the parsed input and returns the exit code. */
export type Runner = (ctx: CliContext, args: SendCommandArgs, options: SendCommandOptions) => Promise<number>

/** The command table of `am-send-command`; `run` is replaced in tests of the argument mapping. */
export function createCli(ctx: CliContext, run: Runner = sendCommandAndExit): CAC {
  const { cli, command } = createProgram({
    name: 'am-send-command',
    version,
    description: DESCRIPTION,
    usage: '[url] <service.Command> <payload_file> [options]',
    ndjson: 'Print the result as one JSON object on stdout',
    exitCodes: exitCodesHelp({
      1: 'the result is an error, or the command was unroutable',
      2: 'no result within --timeout',
    }),
  })
  command
    .option('--conversation-id <id>', 'Conversation id of the command (default: debug-<uuid>)')
    .option('--timeout <seconds>', 'Wait at most this long for the result', { default: 30 })
    .example('  am-send-command amqp://guest:guest@localhost/ asr.Transcribe request.json')
    .example('  AMQP_URL=amqp://localhost/ am-send-command asr.Transcribe request.cbor --timeout 120 --ndjson')
    .example('  echo \'{"id": 1}\' | am-send-command amqp://localhost/ asr.Transcribe -')
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
): { args: SendCommandArgs; options: SendCommandOptions } {
  const { url, name: command, payloadFile } = splitPayloadArgs(positionals, env, '<service.Command>')
  const conversationId = optionValues(argv, 'conversation-id').at(-1)
  return {
    args: { url, command, payloadFile },
    options: {
      ...(conversationId !== undefined ? { conversationId } : {}),
      timeoutMs: parseSecondsOption('timeout', options.timeout) ?? 30_000,
      ...parseCommonOptions(options),
    },
  }
}

async function sendCommandAndExit(
  ctx: CliContext,
  args: SendCommandArgs,
  options: SendCommandOptions,
): Promise<number> {
  const { sendCommand } = await import('./commands/send-command.js')
  const result = await sendCommand(ctx, args, options)
  return result.status === 'success' ? EXIT.OK : EXIT.FAILED
}
