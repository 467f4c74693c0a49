import { type ArgvOptions, type CliContext, createProgram, EXIT, EXIT_INTERRUPTED, exitCodesHelp } from '@am/cli-kit'
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
    description: 'Replay dead letters where their consumers will understand them',
    usage:
      '[url] <dlq> [--count N] [--batch_size B] [--filter NAME...] [--dry-run] [--rebroadcast | --to-queue] [--management-url URL] [--ndjson]',
    ndjson: 'One JSON object per dead letter, then a summary, on stdout; nothing else',
    exitCodes: exitCodesHelp({
      1: 'a replay failed or an event was left (both stay in the DLQ), or the DLQ does not exist',
    }),
  })
  command
    .option('--count <n>', 'Look at the first n dead letters (default: those in the queue at start)')
    .option('--batch-size <n>', 'Replays awaiting their broker confirm at once (default 10; also --batch_size)')
    .option(
      '--filter <pattern>',
      'Replay only these routing keys; topic patterns (*, #) allowed; several after one flag (default: all)',
    )
    .option('--dry-run', 'Say where each message would go and why, change nothing')
    .option(
      '--rebroadcast',
      'Events go back through their exchange with their routing key: every queue bound for it gets a copy (default: straight into their queue when only AM Bus services consume it, else left in the DLQ)',
    )
    .option('--to-queue', 'Every message goes straight into the queue it died in, whoever consumes it')
    .option(
      '--management-url <url>',
      'The management API, to see who consumes a queue (default: http://<broker host>:15672 with the AMQP credentials)',
    )
    .example('  $ am-resurrect amqp://guest:guest@localhost:5672/ dead_letters --dry-run')
    .example('  $ am-resurrect amqp://localhost dead_letters --filter "voxo.*" ConversationStarted --batch_size 50')
    .example('  $ AMQP_URL=amqp://localhost am-resurrect dead_letters --count 1 --ndjson')
    .action(async (args: string[], options: Record<string, unknown>) => {
      const { resurrect } = await import('./commands/resurrect.js')
      const { summary } = await resurrect(ctx, args, options)
      if (summary.stoppedBy === 'signal') return EXIT_INTERRUPTED
      return summary.failed > 0 || summary.left > 0 ? EXIT.FAILED : EXIT.OK
    })
  return cli
}
