import { type ArgvOptions, type CliContext, createProgram, EXIT, EXIT_INTERRUPTED } from '@am/cli-kit'
import type { CAC } from 'cac'
import pkg from '../package.json' with { type: 'json' }

/**
 * How `parseArgv` prepares the argv: `--filter A B` as in eventail (the list ends at the next
 * option or at the broker URL, so `--filter A amqp://… dlq` works; without the URL, put the queue
 * before `--filter`).
 */
export const ARGV: ArgvOptions = { variadic: ['filter'] }

/** The am-resurrect command table (cac): options, help with examples, version. */
export function createCli(ctx: CliContext): CAC {
  const { cli, command } = createProgram({
    name: 'am-resurrect',
    version: pkg.version,
    description: 'Replay dead letters to the queue they died in',
    usage: '[amqp_url] <dlq> [--count N] [--batch_size B] [--filter NAME...] [--dry-run] [--rebroadcast] [--ndjson]',
    ndjson: 'One JSON object per dead letter, then a summary, on stdout; nothing else',
    describeInHelp: false,
    exitCodes:
      '  0 ok, 1 a replay failed (left in the DLQ) or the DLQ does not exist, 64 usage error, 69 broker unreachable, 130 interrupted',
  })
  command
    .option('--count <n>', 'Look at the first n dead letters (default: those in the queue at start)')
    .option('--batch-size <n>', 'Replays awaiting their broker confirm at once (default 10; also --batch_size)')
    .option(
      '--filter <pattern>',
      'Replay only these routing keys; topic patterns (*, #) allowed; several after one flag (default: all)',
    )
    .option('--dry-run', 'Say what would be replayed where, change nothing')
    .option(
      '--rebroadcast',
      'Republish to the original exchange and routing key instead of the dead queue: every queue bound to them gets a copy (eventail did so), but consumers see the original routing key',
    )
    .example('  $ am-resurrect amqp://guest:guest@localhost:5672/ dead_letters --dry-run')
    .example('  $ am-resurrect amqp://localhost dead_letters --filter "voxo.*" ConversationStarted --batch_size 50')
    .example('  $ AMQP_URL=amqp://localhost am-resurrect dead_letters --count 1 --ndjson')
    .action(async (args: string[], options: Record<string, unknown>) => {
      const { resurrect } = await import('./commands/resurrect.js')
      const { summary } = await resurrect(ctx, args, options)
      if (summary.stoppedBy === 'signal') return EXIT_INTERRUPTED
      return summary.failed > 0 ? EXIT.FAILED : EXIT.OK
    })
  return cli
}
