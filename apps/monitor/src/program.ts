import type { CliContext, NormalizeArgvOptions } from '@am/cli-kit'
import { type CAC, cac } from 'cac'
import pkg from '../package.json' with { type: 'json' }

/** How `normalizeArgv` prepares the argv: eventail's `nargs='+'` pattern lists after one flag. */
export const ARGV: NormalizeArgvOptions = { variadic: ['events', 'commands', 'configurations', 'filter-fields'] }

/** The am-monitor command table (cac): options, help with examples, version. */
export function createCli(ctx: CliContext): CAC {
  const cli = cac('am-monitor')
  cli
    .command('[...amqp_url]', 'Show events, commands, results and configurations live, until Ctrl-C')
    .usage(
      '[amqp_url] [--events P...] [--commands P...] [--configurations P...] [--save [--json]] [--filter_fields k=v...]',
    )
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
    .option('--ndjson', 'One JSON object per message on stdout, nothing else')
    .option('--connect-timeout <seconds>', 'Wait at most this long for the broker', { default: 5 })
    .example('am-monitor amqp://guest:guest@localhost:5672/ --events "#"')
    .example('AMQP_URL=amqp://localhost am-monitor --commands "voxo.*" "ping.EchoReturn" --ndjson')
    .example('am-monitor amqp://localhost --events ConversationStarted --filter_fields client_id=123 --save --json')
    .action(async (args: string[], options: Record<string, unknown>) => {
      const { monitor } = await import('./commands/monitor.js')
      await monitor(ctx, args, options)
      return 0
    })
  cli.help((sections) => [
    // One command only: no "Commands" section; examples indented like the usage line.
    ...sections
      .filter((section) => !section.title?.startsWith('Commands') && !section.title?.startsWith('For more info'))
      .map((section) =>
        section.title === 'Examples' ? { ...section, body: section.body.replace(/^/gm, '  $ ') } : section,
      ),
    { title: 'Exit codes', body: '  0 ok (Ctrl-C included), 1 failed, 64 usage error, 69 broker unreachable' },
  ])
  cli.version(pkg.version)
  return cli
}
