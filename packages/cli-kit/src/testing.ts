import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

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
  onSpawn?: (child: import('node:child_process').ChildProcess) => void
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
        json: () =>
          stdout
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as unknown),
      })
    })
    child.stdin.end(options.input)
    options.onSpawn?.(child)
  })
}

/** A loopback port with nothing listening on it (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
