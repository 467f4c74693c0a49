import { waitFor, writeTempFile } from '@am/testkit'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type CliContext, createProgram } from '../src/index.js'
import { captureInput, parseCli, runBinary, startBinary } from '../src/testing.js'

describe('runBinary', () => {
  it('collects the exit code and output, without AMQP_URL unless given', async () => {
    const tool = await writeTempFile(
      'tool.mjs',
      "process.stdout.write(JSON.stringify({ url: process.env.AMQP_URL ?? null }) + '\\n'); console.error('note'); process.exit(3)",
    )
    const run = await runBinary(tool, [], { env: {} })
    expect({ code: run.code, stderr: run.stderr, json: run.json() }).toEqual({
      code: 3,
      stderr: 'note\n',
      json: [{ url: null }],
    })
    expect((await runBinary(tool, [], { env: { AMQP_URL: 'amqp://h' } })).json()).toEqual([{ url: 'amqp://h' }])
  })
})

describe('startBinary', () => {
  it('shows the output while the tool runs and lets the test signal it', async () => {
    const tool = await writeTempFile(
      'tool.mjs',
      "process.on('SIGINT', () => { console.log('bye'); process.exit(7) }); console.error('ready'); setInterval(() => {}, 1000)",
    )
    const started = startBinary(tool, [])
    onTestFinished(() => void started.child.kill('SIGKILL'))
    await waitFor(() => started.stderr().includes('ready'), 10_000, 'the tool to start')
    expect(started.stdout()).toBe('')
    started.child.kill('SIGINT')
    const run = await started.exited
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 7, stdout: 'bye\n' })
  })
})

interface Input {
  args: { things: string[] }
  options: { count?: number }
}

function createCli(
  ctx: CliContext,
  run: (ctx: CliContext, args: Input['args'], options: Input['options']) => Promise<number>,
) {
  const { cli, command } = createProgram({
    name: 'am-x',
    version: '1.0.0',
    description: 'X',
    usage: '',
    ndjson: 'NDJSON',
    exitCodes: '0 ok',
  })
  command
    .option('--count <n>', 'n')
    .action((things: string[], options: Record<string, unknown>) =>
      run(ctx, { things: [...things, ctx.env.EXTRA ?? ''] }, { count: Number(options.count) }),
    )
  return cli
}

describe('captureInput', () => {
  it('gives what the action hands to the runner, with the environment', async () => {
    expect(await captureInput(createCli, ['a', '--count', '2'], { EXTRA: 'e' })).toEqual({
      args: { things: ['a', 'e'] },
      options: { count: 2 },
    })
  })

  it('gives nothing after --help', async () => {
    const info = console.info
    console.info = () => undefined
    onTestFinished(() => {
      console.info = info
    })
    expect(await captureInput(createCli, ['--help'])).toBeUndefined()
  })

  it('throws what parsing throws', async () => {
    await expect(captureInput(createCli, ['--bogus'])).rejects.toThrow('Unknown option `--bogus`')
  })
})

describe('parseCli', () => {
  it('parses like the binary, variadic options included', () => {
    const parsed = parseCli(
      (ctx) => createCli(ctx, async () => 0),
      ['a', '--count', '1', '2', '--connect_timeout', '1'],
      {
        variadic: ['count'],
      },
    )
    expect(parsed.args).toEqual(['a'])
    expect(parsed.options).toMatchObject({ count: [1, 2], connectTimeout: 1 })
  })
})
