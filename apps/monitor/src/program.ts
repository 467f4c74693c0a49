import { type ArgvOptions, type CliContext, createProgram, exitCodesHelp } from '@am/cli-kit'
import type { CAC } from 'cac'
import pkg from '../package.json' with { type: 'json' }

/** How `parseArgv` prepares the argv: eventail's `nargs='+'` pattern lists after one flag. */
export const ARGV: ArgvOptions = { variadic: ['events', 'commands', 'configurations', 'filter-fields'] }

/** The am-monitor command table (cac): options, help with examples, version. */
export function createCli(ctx: CliContext): CAC {
  const { cli, command } = createProgram({
    name: 'am-monitor',
    version: pkg.version,
    description: 'Show events, commands, results and configurations live, until Ctrl-C',
    usage: '[url] [--events P...] [--commands P...] [--configurations P...] [--save [--json]] [--filter_fields k=v...]',
    ndjson: 'One JSON object per message on stdout, nothing else',
    exitCodes: exitCodesHelp({
      0: 'ok (after --count messages, or Ctrl-C)',
      1: 'failed (monitoring stopped, or a --save write failed)',
    }),
  })
  command
    .option('--events <pattern>', 'Topic patterns bound on the events exchange (several after one flag; default none)')
    .option(
      '--commands <pattern>',
      'Topic patterns bound on the commands exchange: commands and results (default none)',
    )
    .option('--configurations <pattern>', 'Topic patterns bound on the configurations exchange (default none)')
    .option(
      '--filter-fields <field=value>',
      'Show only messages whose payload has these field values; the value is read as JSON when it is JSON (123, true, "text"), else as text (also --filter_fields)',
    )
    .option(
      '--save',
      'Write each payload to <routing_key>.<conversation_id>.cbor|json (original bytes, never overwriting)',
    )
    .option('--json', 'With --save: write the decoded payload as JSON instead')
    .option('--dir <path>', 'Where --save writes (default: the current directory)')
    .option('--count <n>', 'Stop after n messages shown')
    .example('  $ am-monitor amqp://guest:guest@localhost:5672/ --events "#"')
    .example('  $ AMQP_URL=amqp://localhost am-monitor --commands "voxo.*" "ping.EchoReturn" --ndjson')
    .example('  $ am-monitor amqp://localhost --events ConversationStarted --filter_fields client_id=123 --save --json')
    .action(async (args: string[], options: Record<string, unknown>) => {
      const { monitor } = await import('./commands/monitor.js')
      await monitor(ctx, args, options)
      return 0
    })
  return cli
}
