import { type CliContext, EXIT, EXIT_INTERRUPTED, type NormalizeArgvOptions } from '@am/cli-kit'
import { type CAC, cac } from 'cac'
import pkg from '../package.json' with { type: 'json' }

/**
 * How `normalizeArgv` prepares the argv: `--filter A B` as in eventail (the list ends at the next
 * option or at the broker URL, so `--filter A amqp://… dlq` works; without the URL, put the queue
 * before `--filter`), and `--dry-run` safe from cac.
 */
export const ARGV: NormalizeArgvOptions = { variadic: ['filter'], booleans: ['dry-run'] }

/** The am-resurrect command table (cac): options, help with examples, version. */
export function createCli(ctx: CliContext): CAC {
  const cli = cac('am-resurrect')
  cli
    .command('[...args]', 'Replay dead letters to the queue they died in')
    .usage('[amqp_url] <dlq> [--count N] [--batch_size B] [--filter NAME...] [--dry-run] [--rebroadcast] [--ndjson]')
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
    .option('--ndjson', 'One JSON object per dead letter, then a summary, on stdout; nothing else')
    .option('--connect-timeout <seconds>', 'Wait at most this long for the broker', { default: 5 })
    .example('am-resurrect amqp://guest:guest@localhost:5672/ dead_letters --dry-run')
    .example('am-resurrect amqp://localhost dead_letters --filter "voxo.*" ConversationStarted --batch_size 50')
    .example('AMQP_URL=amqp://localhost am-resurrect dead_letters --count 1 --ndjson')
    .action(async (args: string[], options: Record<string, unknown>) => {
      const { resurrect } = await import('./commands/resurrect.js')
      const { summary } = await resurrect(ctx, args, options)
      if (summary.stoppedBy === 'signal') return EXIT_INTERRUPTED
      return summary.failed > 0 ? EXIT.FAILED : EXIT.OK
    })
  cli.help((sections) => [
    // One command only: no "Commands" section; examples indented like the usage line.
    ...sections
      .filter((section) => !section.title?.startsWith('Commands') && !section.title?.startsWith('For more info'))
      .map((section) =>
        section.title === 'Examples' ? { ...section, body: section.body.replace(/^/gm, '  $ ') } : section,
      ),
    {
      title: 'Exit codes',
      body: '  0 ok, 1 a replay failed (left in the DLQ) or the DLQ does not exist, 64 usage error, 69 broker unreachable, 130 interrupted',
    },
  ])
  cli.version(pkg.version)
  return cli
}
