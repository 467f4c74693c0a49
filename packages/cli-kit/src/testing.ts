import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import type { CAC } from 'cac'
import { expect } from 'vitest'
import type { CliContext } from './context.js'
import { createMemoryContext, parseLines } from './memory.js'

export type { MemoryContext } from './memory.js'
export { createMemoryContext } from './memory.js'

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
 * checks what every tool does then: exit 69, nothing on stdout, one line on stderr,
 * `error: no broker at amqp://guest:***@127.0.0.1:<port>/: nothing listens on 127.0.0.1:<port>
 * (ECONNREFUSED) (gave up after <timeout>): start RabbitMQ, fix the URL or raise --connect-timeout`.
 * @example
 * it('exits 69 when no broker listens', () => expectNoBroker(bin, (url) => [url, '--connect-timeout', '0.3']))
 */
export async function expectNoBroker(script: string, args: (url: string) => string[]): Promise<void> {
  const secret = `s3cr3t-${randomBytes(5).toString('hex')}`
  const port = await closedPort()
  const run = await runBinary(script, args(`amqp://guest:${secret}@127.0.0.1:${port}/`))
  const waited = /\(gave up after ([^)]+)\)/.exec(run.stderr)?.[1] ?? '?'
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
    code: 69,
    stdout: '',
    stderr: `error: no broker at amqp://guest:***@127.0.0.1:${port}/: nothing listens on 127.0.0.1:${port} (ECONNREFUSED) (gave up after ${waited}): start RabbitMQ, fix the URL or raise --connect-timeout\n`,
  })
  expect(waited).toMatch(/^\d+(\.\d+)? (ms|s)$/)
}

/**
 * Runs a built tool with a wrong password for the broker at `url` and checks that it exits 69 at
 * once with nothing on stdout and the one line saying so, without the password anywhere.
 */
export async function expectRefusedLogin(script: string, url: string, args: (url: string) => string[]): Promise<void> {
  const secret = `s3cr3t-${randomBytes(5).toString('hex')}`
  const bad = new URL(url)
  bad.password = secret
  const run = await runBinary(script, args(bad.href))
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
    code: 69,
    stdout: '',
    stderr: `error: the broker at ${safeUrl(bad)} refused the login of user '${decodeURIComponent(bad.username)}' (ACCESS_REFUSED): fix the user or password in the URL\n`,
  })
}

/**
 * Runs a built tool on a virtual host that does not exist on the broker at `url` and checks that
 * it exits 69 at once with nothing on stdout and the one line saying so.
 */
export async function expectMissingVhost(script: string, url: string, args: (url: string) => string[]): Promise<void> {
  const vhost = `no-vhost-${randomBytes(5).toString('hex')}`
  const bad = new URL(url)
  bad.pathname = `/${vhost}`
  const run = await runBinary(script, args(bad.href))
  const user = decodeURIComponent(bad.username)
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
    code: 69,
    stdout: '',
    stderr: `error: the broker at ${safeUrl(bad)} has no virtual host '${vhost}' (or user '${user}' may not use it): create it (rabbitmqctl add_vhost ${vhost}) or fix the URL\n`,
  })
}

/** A broker URL as the tools print it: `amqp://user:***@host:port/vhost`. */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.username ? `${url.username}:***@` : ''}${url.host}${url.pathname || '/'}`
}

/**
 * Runs a built tool with `args` and checks that it exits 64 with nothing on stdout and one line
 * on stderr: exactly `error: <message>` for a string, matching `message` for a RegExp.
 */
export async function expectUsageError(
  script: string,
  args: readonly string[],
  message: string | RegExp,
): Promise<void> {
  const run = await runBinary(script, args)
  if (typeof message === 'string') {
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
      code: 64,
      stdout: '',
      stderr: `error: ${message}\n`,
    })
    return
  }
  expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 64, stdout: '' })
  expect(run.stderr).toMatch(/^error: /)
  expect(run.stderr).toMatch(message)
}
