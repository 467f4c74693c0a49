// Throwaway redis-server and redis-sentinel processes on loopback, for the tests, the bench and the
// example: never the machine's 6379, no persistence, files in a temporary folder removed at stop.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

const children = new Set()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

/** A free TCP port on 127.0.0.1, chosen by the system. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function launch(command, args, readyLine, dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let output = ''
    const exited = new Promise((r) => child.once('exit', r))
    const onData = (chunk) => {
      output += chunk
      if (readyLine.test(output)) {
        child.stdout.off('data', onData)
        child.stdout.resume()
        resolve({ child, exited, log: () => output })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    child.once('exit', (code) => {
      children.delete(child)
      reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`))
    })
  })
}

function handle(kind, port, launched, dir) {
  const { child, exited } = launched
  const end = async (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
    children.delete(child)
    rmSync(dir, { recursive: true, force: true })
  }
  return {
    kind,
    port,
    address: `127.0.0.1:${port}`,
    /** Stops the process gracefully. */
    stop: () => end('SIGTERM'),
    /** Kills the process at once, as a crash would. */
    kill: () => end('SIGKILL'),
    [Symbol.asyncDispose]: () => end('SIGKILL'),
  }
}

/** Starts a redis-server on a free loopback port (or `port`), as a replica of `replicaOf` when given. */
export async function startRedis({ port, replicaOf, password } = {}) {
  const chosen = port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'am-redis-'))
  const args = ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
  if (password) args.push('--requirepass', password, '--masterauth', password)
  if (replicaOf) args.push('--replicaof', '127.0.0.1', String(replicaOf))
  const ready = replicaOf ? /MASTER <-> REPLICA sync: Finished with success/ : /Ready to accept connections/
  return handle('redis', chosen, await launch('redis-server', args, ready, dir), dir)
}

/**
 * Starts `count` sentinels watching the master `name` at `masterPort` (quorum 2, down after
 * `downAfterMs`), and waits until each knows the others and the replicas (`replicas` of them).
 */
export async function startSentinels({ masterPort, name = 'mymaster', count = 3, replicas = 1, downAfterMs = 1000 }) {
  const sentinels = []
  for (let i = 0; i < count; i++) {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'am-sentinel-'))
    const conf = join(dir, 'sentinel.conf')
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        // A failed election is retried after twice this: short, so that a test does not wait 20 s.
        `sentinel failover-timeout ${name} 3000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
    sentinels.push(handle('sentinel', port, await launch('redis-sentinel', [conf], /\+monitor master/, dir), dir))
  }
  const deadline = Date.now() + 30_000
  for (const sentinel of sentinels) {
    const client = new Redis({ port: sentinel.port, host: '127.0.0.1', lazyConnect: true })
    try {
      await client.connect()
      for (;;) {
        const known = await client.call('SENTINEL', 'sentinels', name)
        const slaves = await client.call('SENTINEL', 'replicas', name)
        if (known.length === count - 1 && slaves.length === replicas) break
        if (Date.now() > deadline) throw new Error(`sentinel ${sentinel.port} did not discover its peers and replicas`)
        await new Promise((r) => setTimeout(r, 50))
      }
    } finally {
      client.disconnect()
    }
  }
  return sentinels
}
