import { afterEach, describe, expect, it, vi } from 'vitest'
import { createProgram, exitCodesHelp, parseArgv, parseCommonOptions } from '../src/index.js'

const base = {
  name: 'am-tool',
  version: '1.2.3',
  description: 'Do one thing',
  usage: '[url] <thing> [options]',
  ndjson: 'One JSON object per thing on stdout',
  exitCodes: exitCodesHelp({ 1: 'failed', 2: 'timed out' }),
}

function help(options: Partial<typeof base> = {}): string {
  const { cli, command } = createProgram({ ...base, ...options })
  command.option('--count <n>', 'Stop after n things').option('--dry-run', 'Change nothing').example('  am-tool x')
  command.example('$ AMQP_URL=amqp://localhost am-tool y')
  const info = vi.spyOn(console, 'info').mockImplementation(() => undefined)
  parseArgv(cli, ['node', 'am-tool', '--help'])
  return info.mock.calls.map((call) => String(call[0])).join('\n')
}

describe('createProgram', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('prints the shared help shape: description line, usage, broker URL, options, examples, exit codes', () => {
    expect(help()).toMatchInlineSnapshot(`
      "am-tool — do one thing

      Usage:
        $ am-tool [url] <thing> [options]

      Broker URL:
        The first argument when it starts with amqp:// or amqps:// (amqp://user:password@host:port/vhost),
        else the AMQP_URL environment variable.

      Options:
        --count <n>                  Stop after n things
        --dry-run                    Change nothing
        --connect-timeout <seconds>  Wait at most this long for the broker (default: 5)
        --ndjson                     One JSON object per thing on stdout
        -h, --help                   Display this message
        -v, --version                Display version number

      Examples:
        $ am-tool x
        $ AMQP_URL=amqp://localhost am-tool y

      Exit codes:
        0   ok
        1   failed
        2   timed out
        64  usage error
        69  no broker, or it refused the login, the virtual host or the TLS handshake
        130 interrupted"
    `)
  })

  it('lays out exit codes given as one line', () => {
    expect(
      help({ exitCodes: '  0 ok, 1 a replay failed (left in the DLQ), 64 usage error' }).split('Exit codes:\n')[1],
    ).toBe('  0   ok\n  1   a replay failed (left in the DLQ)\n  64  usage error')
  })

  it('prints the bare version', () => {
    const { cli } = createProgram(base)
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined)
    parseArgv(cli, ['node', 'am-tool', '--version'])
    expect(info.mock.calls).toEqual([['1.2.3']])
    expect(cli.matchedCommand).toBeUndefined()
  })
})

describe('parseArgv', () => {
  function program() {
    const { cli, command } = createProgram(base)
    command.option('--dry-run', 'Change nothing').option('--filter <pattern>', 'Only these')
    return cli
  }

  it.each([
    [['--dry-run', 'dlq'], ['dlq'], { dryRun: true }],
    [['dlq', '--filter', 'A', 'B'], ['dlq', 'B'], { filter: 'A' }],
    [['dlq', '--dry_run', '--', '--dry-run'], ['dlq'], { dryRun: true, '--': ['--dry-run'] }],
  ])('parses %j without variadic options', (argv, args, options) => {
    const parsed = parseArgv(program(), ['node', 'am-tool', ...argv])
    expect(parsed.args).toEqual(args)
    expect(parsed.options).toMatchObject(options)
  })

  it('expands variadic options and keeps the shared defaults', () => {
    const { args, options } = parseArgv(program(), ['node', 'am-tool', 'dlq', '--filter', 'A', 'B', '--dry-run'], {
      variadic: ['filter'],
    })
    expect(args).toEqual(['dlq'])
    expect(options).toMatchObject({ filter: ['A', 'B'], dryRun: true, connectTimeout: 5 })
  })
})

describe('parseCommonOptions', () => {
  it.each([
    [{}, { connectTimeoutMs: 5_000, ndjson: false }],
    [
      { connectTimeout: 5, ndjson: true },
      { connectTimeoutMs: 5_000, ndjson: true },
    ],
    [{ connectTimeout: '0.25' }, { connectTimeoutMs: 250, ndjson: false }],
  ])('reads %j', (options, expected) => {
    expect(parseCommonOptions(options)).toEqual(expected)
  })

  it('refuses a timeout that is not above 0', () => {
    expect(() => parseCommonOptions({ connectTimeout: 0 })).toThrow(
      expect.objectContaining({
        code: 'CLI_USAGE',
        message: '--connect-timeout must be a number of seconds > 0, got "0"',
      }),
    )
  })
})
