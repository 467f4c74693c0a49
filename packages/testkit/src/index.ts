import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type {} from 'vitest'

export { useTempDir, writeTempFile } from './files.js'
export { type Proxy, startProxy } from './proxy.js'
export type { BoundQueue, ChannelLender } from './queue.js'
export { bindQueue, drain } from './queue.js'

const exec = promisify(execFile)

declare module 'vitest' {
  export interface ProvidedContext {
    /** The broker URL found by the global setup (`testcontainers.config.ts`). */
    amqpUrl: string
  }
}

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

/** Resolves with the first truthy value `check` returns; rejects with `message` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5_000,
  message = 'condition',
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as Exclude<T, false | null | undefined | 0 | ''>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Debian's Python, which has `python3-cbor2` and `python3-pika` (pyenv shims on PATH may not). */
export const python: string = process.env.AM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')

/** Runs a Python script with `input` on stdin and returns its stdout. */
export async function runPython(script: string, args: string[] = [], input?: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
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

/**
 * The throwaway-cluster script: `../shared/tools/rabbitmq-cluster.sh` when that folder is beside
 * the repository, else testkit's copy of it (a clone on its own, as CI makes).
 */
export const clusterScript: string = [
  join(sharedDir, 'tools', 'rabbitmq-cluster.sh'),
  resolve(repoRoot, 'packages', 'testkit', 'tools', 'rabbitmq-cluster.sh'),
].find((path) => existsSync(path)) as string

/** A throwaway RabbitMQ cluster on loopback ports (never the shared node on 5672). */
export interface ThrowawayCluster {
  /** One AMQP URL per node (guest/guest, vhost `/`). */
  urls: string[]
  /** Erlang node names, e.g. `hare1@localhost`. */
  nodes: string[]
  stopNode(index: number): Promise<void>
  killNode(index: number): Promise<void>
  startNode(index: number): Promise<void>
  /** Runs rabbitmqctl against node `index` (1-based). */
  ctl(index: number, ...args: string[]): Promise<string>
  stop(): Promise<void>
}

/** Options of `startCluster`. */
export interface ClusterOptions {
  /**
   * Lines added to the nodes' `rabbitmq.conf`, e.g. a TLS listener (`listeners.ssl.default`) and
   * its `ssl_options.*`. Every node reads the same file: a fixed port suits one node only. Files it
   * names must be readable by the `rabbitmq` user.
   * @default ''
   */
  config?: string
  /**
   * Plugins every node enables at boot, e.g. `['rabbitmq_management']`; give the management
   * listener its own port in `config` (`management.tcp.port = 15751`), as the machine's node holds
   * 15672.
   * @default []
   */
  plugins?: string[]
}

/**
 * Starts `size` clustered RabbitMQ nodes with `../shared/tools/rabbitmq-cluster.sh`, on ports
 * `basePort + 1…`. Its own config file keeps the machine's `/etc/rabbitmq/rabbitmq.conf`
 * (which pins the listener to 5672) out of the way.
 */
export async function startCluster(
  size: number,
  basePort = 5700,
  options: ClusterOptions = {},
): Promise<ThrowawayCluster> {
  const dir = join(process.env.TMPDIR ?? '/tmp', `am-cluster-${basePort}`)
  const { mkdirSync, writeFileSync, chmodSync } = await import('node:fs')
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o755)
  const config = join(dir, 'rabbitmq.conf')
  writeFileSync(config, `loopback_users = none\n${options.config ? `${options.config.trimEnd()}\n` : ''}`)
  chmodSync(config, 0o644)
  const env = {
    ...process.env,
    AM_CLUSTER_DIR: join(dir, 'nodes'),
    AM_CLUSTER_BASE_PORT: String(basePort),
    AM_CLUSTER_DIST_BASE: String(basePort + 20_000),
    RABBITMQ_CONFIG_FILE: config,
  }
  const release = await lockCluster()
  const script = async (...args: string[]): Promise<string> => {
    const { stdout } = await exec('bash', [clusterScript, ...args], { env, timeout: 240_000 })
    return stdout
  }
  await script('stop').catch(() => undefined)
  // The script points each node at `<nodes>/n<i>/enabled_plugins`: written before the first boot.
  for (let i = 1; i <= size && options.plugins?.length; i++) {
    const nodeDir = join(dir, 'nodes', `n${i}`)
    mkdirSync(nodeDir, { recursive: true })
    writeFileSync(join(nodeDir, 'enabled_plugins'), `[${(options.plugins ?? []).join(',')}].\n`)
  }
  await script('start', String(size))
  const nodes = Array.from({ length: size }, (_, i) => `hare${i + 1}@localhost`)
  return {
    urls: Array.from({ length: size }, (_, i) => `amqp://guest:guest@127.0.0.1:${basePort + i + 1}`),
    nodes,
    stopNode: async (index) => void (await script('stop-node', String(index))),
    killNode: async (index) => void (await script('kill-node', String(index))),
    startNode: async (index) => void (await script('start-node', String(index))),
    ctl: (index, ...args) => rabbitmqctl('-n', nodes[index - 1] as string, ...args),
    stop: async () => {
      try {
        await script('stop')
      } finally {
        release()
      }
    },
  }
}

/**
 * The cluster script names its nodes `hare<i>@localhost` whatever the ports, so only one throwaway
 * cluster can run on a machine: suites that need one (in parallel turbo tasks) take turns.
 */
async function lockCluster(timeoutMs = 900_000): Promise<() => void> {
  const { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } = await import('node:fs')
  const lock = join(process.env.TMPDIR ?? '/tmp', 'am-cluster.lock')
  const owner = join(lock, 'pid')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(owner, String(process.pid))
      return () => rmSync(lock, { recursive: true, force: true })
    } catch {
      // A lock whose owner is gone (a run that was killed) is stale.
      let pid = Number.NaN
      try {
        pid = Number(readFileSync(owner, 'utf8'))
      } catch {
        // no owner yet (being created) or ever (an old lock): stale once older than a minute
        const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
        if (age > 60_000) rmSync(lock, { recursive: true, force: true })
      }
      if (Number.isInteger(pid) && !isAlive(pid)) rmSync(lock, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error('timed out waiting for the throwaway cluster lock')
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
