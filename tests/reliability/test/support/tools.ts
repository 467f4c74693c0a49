import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** The built binary of a debug tool (`apps/<name>/dist/cli.js`). */
export function toolBin(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'cli.js')
}

/** What a finished tool gave. */
export interface ToolRun {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs a built tool with `node`, AMQP_URL unset unless given in `env`; `whileRunning` is called
 * with a stop flag-setter once it is spawned (e.g. to publish until it exits).
 */
export function runTool(
  bin: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv
    timeoutMs?: number
    whileRunning?: (exited: () => boolean) => Promise<void>
  } = {},
): Promise<ToolRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete env.AMQP_URL
  Object.assign(env, options.env)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let exited = false
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      exited = true
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    if (options.whileRunning) {
      options
        .whileRunning(() => exited)
        .catch((error: unknown) => {
          child.kill('SIGKILL')
          reject(error as Error)
        })
    }
  })
}
