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
import type { PublishEventArgs, PublishEventOptions } from './commands/publish-event.js'

const DESCRIPTION =
  "Publish one event from a payload file (sent as JSON or CBOR, as the file is) and wait for the broker's confirm"

/** Runs the command with the parsed input and returns the exit code. */
export type Runner = (ctx: CliContext, args: PublishEventArgs, options: PublishEventOptions) => Promise<number>

/** The command table of `am-publish-event`; `run` is replaced in tests of the argument mapping. */
export function createCli(ctx: CliContext, run: Runner = publishEventAndExit): CAC {
  const { cli, command } = createProgram({
    name: 'am-publish-event',
    version,
    description: DESCRIPTION,
    usage: '[url] <event> <payload_file> [options]',
    ndjson: 'Print the outcome as one JSON object on stdout',
    exitCodes: exitCodesHelp({
      1: 'the broker refused (nack) or returned (unroutable) the event',
      2: "no broker's confirm within --timeout",
    }),
  })
  command
    .option('--conversation-id <id>', 'Conversation id of the event (default: debug-<uuid>)')
    .option('--timeout <seconds>', "Wait at most this long for the broker's confirm", { default: 30 })
    .example('  am-publish-event amqp://guest:guest@localhost/ ConversationStarted payload.json')
    .example('  AMQP_URL=amqp://localhost/ am-publish-event ConversationStarted payload.cbor --ndjson')
    .example('  echo \'{"id": 1}\' | am-publish-event amqp://localhost/ ConversationStarted -')
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
): { args: PublishEventArgs; options: PublishEventOptions } {
  const { url, name: event, payloadFile } = splitPayloadArgs(positionals, env, '<event>')
  const conversationId = optionValues(argv, 'conversation-id').at(-1)
  return {
    args: { url, event, payloadFile },
    options: {
      ...(conversationId !== undefined ? { conversationId } : {}),
      timeoutMs: parseSecondsOption('timeout', options.timeout) ?? 30_000,
      ...parseCommonOptions(options),
    },
  }
}

async function publishEventAndExit(
  ctx: CliContext,
  args: PublishEventArgs,
  options: PublishEventOptions,
): Promise<number> {
  const { publishEvent } = await import('./commands/publish-event.js')
  const result = await publishEvent(ctx, args, options)
  return result.status === 'confirmed' ? EXIT.OK : EXIT.FAILED
}
