// Throwaway RabbitMQ nodes for the benchmarks: a single node whose storage is in RAM (`--broker
// ram`), and the 3-node loopback cluster of the `cluster` scenario. Both run Debian's
// rabbitmq-server; neither touches the machine's node on 5672.
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { lockCluster } from '@am/testkit/lock'

const exec = promisify(execFile)

/** The repository's copy of the throwaway-cluster script, found from bench/dist (or bench/dist/tools) upwards. */
export const clusterScript: string = (() => {
  for (const up of ['../../', '../../../']) {
    const path = fileURLToPath(new URL(`${up}packages/testkit/tools/rabbitmq-cluster.sh`, import.meta.url))
    if (existsSync(path)) return path
  }
  return fileURLToPath(new URL('../../packages/testkit/tools/rabbitmq-cluster.sh', import.meta.url))
})()

/** Which broker a scenario measures against: `default` (`AMQP_URL`) or `ram` (set by scripts/bench.mjs). */
export function brokerKind(): string {
  return process.env.BENCH_BROKER ?? 'default'
}

/** The Erlang node of the broker under test, for rabbitmqctl (`undefined`: the machine's own node). */
export function brokerNode(): string | undefined {
  return process.env.BENCH_BROKER_NODE || undefined
}

/** `amqp://user:***@host:port/vhost`: a URL fit for output. */
export function redact(url: string): string {
  return url.replace(/^(amqps?:\/\/[^:@/]*):[^@/]*@/, '$1:***@')
}

/** The RAM node: its Erlang name, AMQP port and data directory (tmpfs). */
export const RAM_NODE = {
  name: 'am-bench-ram@localhost',
  port: 5850,
  distPort: 25850,
  dir: '/dev/shm/am-bench-ram',
} as const

/** The AMQP URL of the RAM node (vhost `/`). */
export const ramNodeUrl = `amqp://guest:guest@127.0.0.1:${RAM_NODE.port}/%2F`

async function ctl(node: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('rabbitmqctl', ['-q', '-n', node, ...args], { timeout: 180_000 })
  return stdout
}

/**
 * Starts a single RabbitMQ node whose Mnesia and message store live under /dev/shm (tmpfs), so that
 * durable queues and publisher confirms cost no disk fsync. It has a node name of its own (not the
 * cluster script's `hare<i>`), so it never collides with a throwaway cluster and needs no lock.
 */
export async function startRamNode(): Promise<string> {
  await stopRamNode()
  const { dir } = RAM_NODE
  mkdirSync(dir, { recursive: true })
  const config = join(dir, 'rabbitmq.conf')
  writeFileSync(config, 'loopback_users = none\n')
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n')
  chmodSync(dir, 0o755)
  chmodSync(config, 0o644)
  await ownByRabbitmq(dir)
  await exec('rabbitmq-server', ['-detached'], {
    timeout: 60_000,
    env: {
      ...process.env,
      RABBITMQ_NODENAME: RAM_NODE.name,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(RAM_NODE.port),
      RABBITMQ_DIST_PORT: String(RAM_NODE.distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(dir, 'pid'),
      RABBITMQ_CONFIG_FILE: config,
      RABBITMQ_SERVER_START_ARGS: `-kernel inet_dist_listen_min ${RAM_NODE.distPort} -kernel inet_dist_listen_max ${RAM_NODE.distPort}`,
    },
  })
  // -detached returns before the node registers with epmd: wait for it, then for the boot.
  const deadline = Date.now() + 120_000
  for (;;) {
    try {
      await ctl(RAM_NODE.name, 'ping')
      break
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  await ctl(RAM_NODE.name, 'await_startup', '--timeout', '120')
  return ramNodeUrl
}

/** Stops the RAM node (if it runs) and removes its data. */
export async function stopRamNode(): Promise<void> {
  await ctl(RAM_NODE.name, 'stop').catch(() => undefined)
  rmSync(RAM_NODE.dir, { recursive: true, force: true })
}

async function ownByRabbitmq(dir: string): Promise<void> {
  // Debian's rabbitmq-server drops to the rabbitmq user, which must own the data directory.
  await exec('chown', ['-R', 'rabbitmq:rabbitmq', dir]).catch(() => undefined)
}

/** A throwaway cluster started by the repository's cluster script. */
export interface BenchCluster {
  /** One AMQP URL per node (guest/guest, vhost `/`). */
  urls: string[]
  /** Erlang node names, `hare<i>@localhost`. */
  nodes: string[]
  /** Where the nodes keep their data (a tmpfs path under `--broker ram`). */
  dataDir: string
  killNode(index: number): Promise<void>
  startNode(index: number): Promise<void>
  ctl(index: number, ...args: string[]): Promise<string>
  stop(): Promise<void>
}

/**
 * Starts `size` clustered nodes on ports `basePort + 1…` (distribution ports `basePort + 20001…`)
 * with packages/testkit/tools/rabbitmq-cluster.sh. The script names its nodes `hare<i>@localhost`
 * whatever the ports, so only one such cluster can run on the machine: this takes the same lock as
 * @am/testkit's `startCluster` (the directory `$TMPDIR/am-cluster.lock` holding the owner's pid), and
 * waits for the tests that hold it.
 */
export async function startBenchCluster(size: number, basePort: number, dataRoot: string): Promise<BenchCluster> {
  const release = await lockCluster({
    onWait: (pid, lock) => console.error(`  waiting for the throwaway cluster lock (${lock}), held by pid ${pid}`),
  })
  try {
    const dir = join(dataRoot, `am-bench-cluster-${basePort}`)
    mkdirSync(dir, { recursive: true })
    chmodSync(dir, 0o755)
    const config = join(dir, 'rabbitmq.conf')
    writeFileSync(config, 'loopback_users = none\n')
    chmodSync(config, 0o644)
    const env = {
      ...process.env,
      AM_CLUSTER_DIR: join(dir, 'nodes'),
      AM_CLUSTER_BASE_PORT: String(basePort),
      AM_CLUSTER_DIST_BASE: String(basePort + 20_000),
      RABBITMQ_CONFIG_FILE: config,
    }
    const script = async (...args: string[]): Promise<string> => {
      const { stdout } = await exec('bash', [clusterScript, ...args], { env, timeout: 300_000 })
      return stdout
    }
    await script('stop').catch(() => undefined)
    await script('start', String(size))
    const nodes = Array.from({ length: size }, (_, i) => `hare${i + 1}@localhost`)
    return {
      urls: Array.from({ length: size }, (_, i) => `amqp://guest:guest@127.0.0.1:${basePort + i + 1}/%2F`),
      nodes,
      dataDir: dir,
      killNode: async (index) => void (await script('kill-node', String(index))),
      startNode: async (index) => void (await script('start-node', String(index))),
      ctl: (index, ...args) => ctl(nodes[index - 1] as string, ...args),
      stop: async () => {
        try {
          await script('stop')
          rmSync(dir, { recursive: true, force: true })
        } finally {
          release()
        }
      },
    }
  } catch (error) {
    release()
    throw error
  }
}
