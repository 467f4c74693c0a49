import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import type { CAC } from 'cac'
import { expect } from 'vitest'
import type { CliContext } from './context.js'
import { createMemoryContext, parseLines } from './memory.js'
import { type ArgvOptions, parseArgv } from './program.js'

/** What a finished tool process gave. */
export interface BinaryRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout split into lines, each parsed as JSON (NDJSON). */
  json(): unknown[]
}

/** Options of `runBinary`. */
export interface RunBinaryOptions {
  /** Environment added to the parent's (AMQP_URL removed unless given here). */
  env?: NodeJS.ProcessEnv
  /** Written to stdin, then stdin is closed (closed at once when undefined). */
  input?: string | Buffer
  /** Kills the process (SIGKILL) after this many ms. @default 20000 */
  timeoutMs?: number
  /** Called with the child as soon as it is spawned (to send signals, watch stdout…). */
  onSpawn?: (child: ChildProcess) => void
}

/**
 * Runs a built tool (`node <script> …args`) and collects its exit code and output; for
 * end-to-end tests of `dist/cli.js`.
 */
export function runBinary(script: string, args: readonly string[], options: RunBinaryOptions = {}): Promise<BinaryRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete env.AMQP_URL
  Object.assign(env, options.env)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out).toString('utf8')
      resolve({
        code,
        signal,
        stdout,
        stderr: Buffer.concat(err).toString('utf8'),
        json: () => parseLines(stdout),
      })
    })
    child.stdin.end(options.input)
    options.onSpawn?.(child)
  })
}

/** A tool started by `startBinary`: its output so far, and its end. */
export interface StartedBinary {
  child: ChildProcess
  /** Everything it wrote to stdout so far. */
  stdout(): string
  /** Everything it wrote to stderr so far. */
  stderr(): string
  /** Resolves when it has exited, as `runBinary` does. */
  exited: Promise<BinaryRun>
}

/**
 * Starts a built tool like `runBinary` but returns at once, so that a test can watch its output
 * while it runs and send it signals.
 * @example
 * const started = startBinary(bin, [url, '--events', '#'])
 * await waitFor(() => started.stderr().includes('Monitoring'))
 * started.child.kill('SIGINT')
 * expect((await started.exited).code).toBe(0)
 */
export function startBinary(
  script: string,
  args: readonly string[],
  options: Omit<RunBinaryOptions, 'onSpawn'> = {},
): StartedBinary {
  let out = ''
  let err = ''
  let child: ChildProcess | undefined
  const exited = runBinary(script, args, {
    ...options,
    onSpawn: (spawned) => {
      child = spawned
      spawned.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString()
      })
      spawned.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString()
      })
    },
  })
  // runBinary spawns synchronously, so the child is there.
  return { child: child as ChildProcess, stdout: () => out, stderr: () => err, exited }
}

/**
 * Parses `args` with the program `createCli` builds, as the binary does (`parseArgv`), with a
 * memory context whose environment is `env`; the command is not run.
 */
export function parseCli(
  createCli: (ctx: CliContext) => CAC,
  args: readonly string[],
  options: ArgvOptions & { env?: NodeJS.ProcessEnv } = {},
): ReturnType<CAC['parse']> {
  const { env = {}, ...argv } = options
  const cli = createCli(createMemoryContext({ env }).ctx)
  return parseArgv(cli, ['node', cli.name, ...args], argv)
}

/**
 * What a tool's action hands to its runner for `args` (`undefined` after `--help`): for tools
 * whose `createCli(ctx, run)` takes the runner, so that the argv → input mapping is tested
 * without the command.
 * @throws what parsing or the mapping throws (cac's errors, `CliError` usage errors).
 */
export async function captureInput<Args, Options>(
  createCli: (ctx: CliContext, run: (ctx: CliContext, args: Args, options: Options) => Promise<number>) => CAC,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ args: Args; options: Options } | undefined> {
  let input: { args: Args; options: Options } | undefined
  const cli = createCli(createMemoryContext({ env }).ctx, async (_ctx, parsedArgs, parsedOptions) => {
    input = { args: parsedArgs, options: parsedOptions }
    return 0
  })
  parseArgv(cli, ['node', cli.name, ...args])
  await cli.runMatchedCommand()
  return input
}

/** A loopback port with nothing listening on it (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * Runs a built tool against a loopback port nobody listens on, with a password in the URL, and
 * checks what every tool does then: exit 69, nothing on stdout, `error: no broker at …` on
 * stderr naming the refused connection with the password hidden, the password nowhere.
 * @example
 * it('exits 69 when no broker listens', () => expectNoBroker(bin, (url) => [url, '--connect-timeout', '0.3']))
 */
export async function expectNoBroker(script: string, args: (url: string) => string[]): Promise<void> {
  const secret = `s3cr3t-${randomBytes(5).toString('hex')}`
  const port = await closedPort()
  const run = await runBinary(script, args(`amqp://guest:${secret}@127.0.0.1:${port}/`))
  expect(run.code).toBe(69)
  expect(run.stdout).toBe('')
  expect(run.stderr).toMatch(
    new RegExp(`^error: no broker at amqp://guest:\\*\\*\\*@127\\.0\\.0\\.1:${port}/: .*ECONNREFUSED`),
  )
  expect(run.stdout + run.stderr).not.toContain(secret)
}

/**
 * Runs a built tool with a wrong password for the broker at `url` and checks that it exits 69
 * saying ACCESS_REFUSED, without the password anywhere.
 */
export async function expectRefusedLogin(script: string, url: string, args: (url: string) => string[]): Promise<void> {
  const secret = `s3cr3t-${randomBytes(5).toString('hex')}`
  const bad = new URL(url)
  bad.password = secret
  const run = await runBinary(script, args(bad.href))
  expect(run.code).toBe(69)
  expect(run.stderr).toContain('ACCESS_REFUSED')
  expect(run.stdout + run.stderr).not.toContain(secret)
}

/**
 * Runs a built tool with `args` and checks that it exits 64 with nothing on stdout and an
 * `error: ` line on stderr, matching `message` when given.
 */
export async function expectUsageError(script: string, args: readonly string[], message?: RegExp): Promise<void> {
  const run = await runBinary(script, args)
  expect(run.code).toBe(64)
  expect(run.stdout).toBe('')
  expect(run.stderr).toMatch(/^error: /)
  if (message) expect(run.stderr).toMatch(message)
}
