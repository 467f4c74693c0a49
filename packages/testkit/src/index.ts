import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** A name unique to this test run, safe for queues and exchanges: `<prefix>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`
}

/** The repository root. */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** The project's read-only reference folder (`../shared` beside the repository). */
export const sharedDir: string = resolve(repoRoot, '..', 'shared')

/** Runs `rabbitmqctl` on the local node (or the node named with `-n`) and returns its stdout. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await exec('rabbitmqctl', ['-q', ...args], { timeout: 60_000 })
  return stdout
}

/**
 * The open connections of a node, with the name their client gave (`connection_name` client
 * property) and vhost. `rabbitmqctl list_connections` ignores `-p`: every vhost is listed.
 */
export async function listConnections(node?: string): Promise<Array<{ pid: string; name: string; vhost: string }>> {
  const out = await rabbitmqctl(
    ...(node ? ['-n', node] : []),
    'list_connections',
    'pid',
    'vhost',
    'client_properties',
    '--no-table-headers',
  )
  return out
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [pid = '', vhost = '', properties = ''] = line.split('\t')
      const name = /\{"connection_name","((?:[^"\\]|\\.)*)"\}/.exec(properties)?.[1] ?? ''
      return { pid, name, vhost }
    })
}

/**
 * Force-closes the connections whose client-provided name contains `marker`, and only those:
 * tests share the broker with others, so never close by vhost alone. Returns how many were closed.
 */
export async function closeConnections(marker: string, node?: string): Promise<number> {
  const mine = (await listConnections(node)).filter((c) => c.name.includes(marker))
  for (const { pid } of mine) {
    await rabbitmqctl(...(node ? ['-n', node] : []), 'close_connection', pid, 'closed by test').catch(() => undefined)
  }
  return mine.length
}

/** Resolves when `check` returns a truthy value; rejects with `message` after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5_000, message = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Debian's Python, which has `python3-cbor2` and `python3-pika` (pyenv shims on PATH may not). */
export const python: string = process.env.AM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')

/** Runs a Python script with `input` on stdin and returns its stdout. */
export async function runPython(script: string, args: string[] = [], input?: string): Promise<string> {
  return await new Promise((resolveRun, reject) => {
    const child = execFile(
      python,
      ['-c', script, ...args],
      { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`python failed: ${stderr || error.message}`, { cause: error }))
        else resolveRun(stdout)
      },
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** Path of a file in the shared rabbitmq-cluster tool folder. */
export const clusterScript: string = join(sharedDir, 'tools', 'rabbitmq-cluster.sh')
