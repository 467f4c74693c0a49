import { afterEach, describe, expect, it, vi } from 'vitest'
import { createProgram, parseArgv, parseCommonOptions } from '../src/index.js'

const base = {
  name: 'am-tool',
  version: '1.2.3',
  description: 'Do one thing',
  usage: '[url] <thing> [options]',
  ndjson: 'One JSON object per thing on stdout',
}

function help(options: Partial<typeof base> & { describeInHelp?: boolean; exitCodes?: string } = {}): string {
  const { cli, command } = createProgram({ ...base, ...options })
  command.option('--count <n>', 'Stop after n things').option('--dry-run', 'Change nothing').example('  am-tool x')
  const info = vi.spyOn(console, 'info').mockImplementation(() => undefined)
  parseArgv(cli, ['node', 'am-tool', '--help'])
  return info.mock.calls.map((call) => String(call[0])).join('\n')
}

describe('createProgram', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('prints the single-command help: description, usage, the tool options then the shared ones', () => {
    expect(help()).toMatchInlineSnapshot(`
      "am-tool/1.2.3

      Do one thing

      Usage:
        $ am-tool [url] <thing> [options]

      Options:
        --count <n>                  Stop after n things 
        --dry-run                    Change nothing 
        --connect-timeout <seconds>  Wait at most this long for the broker (default: 5)
        --ndjson                     One JSON object per thing on stdout 
        -h, --help                   Display this message 
        -v, --version                Display version number 

      Examples:
        am-tool x"
    `)
  })

  it('leaves the description out and adds the exit codes when asked', () => {
    const text = help({ describeInHelp: false, exitCodes: '  0 ok, 1 failed' })
    expect(text).not.toContain('Do one thing')
    expect(text.startsWith('am-tool/1.2.3\n\nUsage:')).toBe(true)
    expect(text.endsWith('Examples:\n  am-tool x\n\nExit codes:\n  0 ok, 1 failed')).toBe(true)
  })

  it('prints the version', () => {
    const { cli } = createProgram(base)
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined)
    parseArgv(cli, ['node', 'am-tool', '--version'])
    expect(String(info.mock.calls[0]?.[0])).toMatch(/^am-tool\/1\.2\.3 /)
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
