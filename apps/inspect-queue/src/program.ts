import { type CliContext, createProgram, EXIT, EXIT_INTERRUPTED, exitCodesHelp } from '@am/cli-kit'
import type { CAC } from 'cac'
import pkg from '../package.json' with { type: 'json' }

/** The am-inspect-queue command table (cac): options, help with examples, version. */
export function createCli(ctx: CliContext): CAC {
  const { cli, command } = createProgram({
    name: 'am-inspect-queue',
    version: pkg.version,
    description: 'Show the messages of a queue and leave them there, in order',
    usage: '[url] <queue> [--count N] [--save [--dir PATH]] [--ndjson]',
    ndjson: 'One JSON object per message on stdout, nothing else',
    exitCodes: exitCodesHelp({ 1: 'failed (e.g. no such queue)' }),
  })
  command
    .option('--count <n>', 'Show the first n messages (default 0: all those ready at start)')
    .option(
      '--save',
      'Write each body, as received, to <routing_key>.<conversation_id>.cbor|json|bin (never overwriting)',
    )
    .option('--dir <path>', 'Where --save writes (default: the current directory)')
    .example('  $ am-inspect-queue amqp://guest:guest@localhost:5672/ dead_letters')
    .example('  $ am-inspect-queue amqp://localhost pong.events --count 10 --ndjson | jq .payload')
    .example('  $ AMQP_URL=amqp://localhost am-inspect-queue dead_letters --save --dir /tmp/dlq')
    .action(async (args: string[], options: Record<string, unknown>) => {
      const { inspectQueue } = await import('./commands/inspect-queue.js')
      await inspectQueue(ctx, args, options)
      return ctx.signal.aborted ? EXIT_INTERRUPTED : EXIT.OK
    })
  return cli
}
