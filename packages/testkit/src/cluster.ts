import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { lockCluster } from './lock.js'
import { repoRoot } from './paths.js'
import { rabbitmqctl } from './rabbitmqctl.js'

const exec = promisify(execFile)

/** The throwaway-cluster script, `packages/testkit/tools/rabbitmq-cluster.sh`. */
export const clusterScript: string = resolve(repoRoot, 'packages', 'testkit', 'tools', 'rabbitmq-cluster.sh')

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
 * Starts `size` clustered RabbitMQ nodes with `packages/testkit/tools/rabbitmq-cluster.sh`, on ports
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
