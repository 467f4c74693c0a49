import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { runBinary } from '@am/cli-kit/testing'
import { repoRoot } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import { binary, TOOLS, versionOf } from './tools.js'

const execute = promisify(execFile)

/** The help split into its sections: the first line, then `{ title: body lines }` in order. */
function sections(help: string): { first: string; titles: string[]; body: Record<string, string[]> } {
  const [first = '', ...rest] = help.split('\n')
  const titles: string[] = []
  const body: Record<string, string[]> = {}
  for (const line of rest) {
    const title = /^([A-Z][A-Za-z ]+):$/.exec(line)?.[1]
    if (title) {
      titles.push(title)
      body[title] = []
    } else if (line !== '') body[titles.at(-1) ?? '']?.push(line)
  }
  return { first, titles, body }
}

describe.each(TOOLS.map((tool) => tool.name))('am-%s', (tool) => {
  it('prints the help every tool shares', async () => {
    const run = await runBinary(binary(tool), ['--help'])
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
    const help = sections(run.stdout)
    expect(help.first).toMatch(new RegExp(`^am-${tool} — [a-z][^\\n]+[^.]$`))
    expect(help.titles).toEqual(['Usage', 'Broker URL', 'Options', 'Examples', 'Exit codes'])
    expect(help.body.Usage).toEqual([expect.stringMatching(new RegExp(`^  \\$ am-${tool} \\[(amqp_)?url\\]`))])
    expect(help.body['Broker URL']).toEqual([
      '  The first argument when it starts with amqp:// or amqps:// (amqp://user:password@host:port/vhost),',
      '  else the AMQP_URL environment variable.',
    ])
    expect(help.body.Options).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^ {2}--connect-timeout <seconds> {2,}Wait at most this long for the broker \(default: 5\)$/,
        ),
        expect.stringMatching(/^ {2}--ndjson {2,}\S/),
        expect.stringMatching(/^ {2}-h, --help {2,}Display this message$/),
        expect.stringMatching(/^ {2}-v, --version {2,}Display version number$/),
      ]),
    )
    const examples = help.body.Examples ?? []
    expect(examples.length).toBeGreaterThanOrEqual(2)
    expect(examples.filter((line) => !line.startsWith('  $ '))).toEqual([])
    expect(examples.some((line) => line.includes('AMQP_URL='))).toBe(true)
    const codes = (help.body['Exit codes'] ?? []).map((line) => /^ {2}(\d+) +\S/.exec(line)?.[1])
    expect(codes).toEqual(expect.arrayContaining(['0', '1', '64', '69', '130']))
    expect(run.stdout.split('\n').filter((line) => line !== line.trimEnd())).toEqual([])
  })

  it('runs by name from the root of a clone (pnpm exec), the root depending on every tool', async () => {
    const { stdout } = await execute('pnpm', ['exec', `am-${tool}`, '--version'], { cwd: repoRoot })
    expect(stdout).toBe(`${versionOf(tool)}\n`)
  })

  it('prints the bare version', async () => {
    const run = await runBinary(binary(tool), ['--version'])
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
      code: 0,
      stdout: `${versionOf(tool)}\n`,
      stderr: '',
    })
  })
})
