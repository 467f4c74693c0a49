import { type CliContext, createProgram, EXIT, EXIT_INTERRUPTED, exitCodesHelp } from '@am/cli-kit'
import type { CAC } from 'cac'
import pkg from '../package.json' with { type: 'json' }

/** The am-console command table (cac): options, help with examples, version. */
export function createCli(ctx: CliContext): CAC {
  const { cli, command } = createProgram({
    name: 'am-console',
    version: pkg.version,
    description: 'Watch the bus and its dead letters in a browser: replay, delete, live traffic, conversations, queues',
    usage:
      '[url] [--port 8080] [--host 127.0.0.1] [--token T] [--dlq NAME...] [--management-url URL] [--no-live] [--ndjson]',
    ndjson: 'The start line and one audit record per action as JSON objects on stdout; nothing else',
    exitCodes: exitCodesHelp({ 1: 'the server could not start (port taken, bad address)' }),
  })
  command
    .option('--port <port>', 'The HTTP port (0: any free port) (default: 8080)')
    .option(
      '--host <address>',
      'The address to listen on; anything but loopback requires a token from every request (default: 127.0.0.1)',
    )
    .option('--token <token>', 'The token requests must carry (default: generated and printed when not on loopback)')
    .option('--dlq <queue>', 'A dead-letter queue to show, repeatable (default: dead_letters)')
    .option(
      '--management-url <url>',
      'The management API, for the queues view and replay decisions (default: http://<broker host>:15672 with the AMQP credentials)',
    )
    .option('--no-live', 'Do not watch the live traffic (no queues bound on events, commands, configurations, logs)')
    .example('  $ am-console amqp://guest:guest@localhost:5672/')
    .example('  $ AMQP_URL=amqp://localhost am-console --port 8090 --dlq dead_letters --dlq billing.dlq')
    .example('  $ am-console amqp://ops:secret@rabbit/prod --host 0.0.0.0 --token "$CONSOLE_TOKEN"')
    .action(async (args: string[], options: Record<string, unknown>) => {
      const { runConsoleCommand } = await import('./commands/console.js')
      await runConsoleCommand(ctx, args, options)
      return ctx.signal.aborted ? EXIT_INTERRUPTED : EXIT.OK
    })
  return cli
}
