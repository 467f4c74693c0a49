import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** Runs `rabbitmqctl` on the local node (or the node named with `-n`) and returns its stdout. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await exec('rabbitmqctl', ['-q', ...args], { timeout: 60_000 })
  return stdout
}

/**
 * The open connections of a node, with the name their client gave (`connection_name` client
 * property), vhost and open channels. `rabbitmqctl list_connections` ignores `-p`: every vhost is listed.
 */
export async function listConnections(
  node?: string,
): Promise<Array<{ pid: string; name: string; vhost: string; channels: number }>> {
  const out = await rabbitmqctl(
    ...(node ? ['-n', node] : []),
    'list_connections',
    'pid',
    'vhost',
    'channels',
    'client_properties',
    '--no-table-headers',
  )
  return out
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [pid = '', vhost = '', channels = '', properties = ''] = line.split('\t')
      const name = /\{"connection_name","((?:[^"\\]|\\.)*)"\}/.exec(properties)?.[1] ?? ''
      return { pid, name, vhost, channels: Number(channels) }
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
