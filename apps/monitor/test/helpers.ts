import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { type CliContext, createMemoryContext, parseArgv } from '@am/cli-kit'
import { resolveSettings } from '../src/commands/monitor.js'
import { ARGV, createCli } from '../src/program.js'

/** The built binary, as installed users run it. */
export const binary: string = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

/** Parses an argv the way the binary does and resolves it to settings (or throws the usage error). */
export function settingsOf(argv: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof resolveSettings> {
  const { ctx } = createMemoryContext({ env })
  const cli = createCli(ctx as CliContext)
  const parsed = parseArgv(cli, ['node', 'am-monitor', ...argv], ARGV)
  return resolveSettings(parsed.args, parsed.options, env)
}

/** A loopback port nobody listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A finished run of the binary. */
export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the built binary to its end (killed after `timeoutMs`). */
export function runBinary(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [binary, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** A running binary: its output so far and its end. */
export interface Started {
  child: ChildProcess
  stdout(): string
  stderr(): string
  exited: Promise<Run>
}

/** Starts the built binary in the background; `exited` resolves with its code and output. */
export function startBinary(args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [binary, ...args], { env: { PATH: process.env.PATH, ...env } })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const exited = new Promise<Run>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err }))
  })
  return { child, stdout: () => out, stderr: () => err, exited }
}
