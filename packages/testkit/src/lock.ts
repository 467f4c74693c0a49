import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Takes the machine's throwaway-cluster lock and returns its release. The cluster script
 * (`tools/rabbitmq-cluster.sh`) names its nodes `hare<i>@localhost` whatever the ports, so only one
 * throwaway cluster can run on a machine: the suites and the benchmarks that need one (in parallel
 * turbo tasks) take turns. The lock is the directory `$TMPDIR/am-cluster.lock` holding the owner's
 * pid; a lock whose owner is gone (a run that was killed) is stale and taken over. `onWait` is told
 * once, with the owner's pid, when the lock is held by another process.
 */
export async function lockCluster(
  options: { timeoutMs?: number; onWait?: (ownerPid: number, lock: string) => void } = {},
): Promise<() => void> {
  const { timeoutMs = 900_000, onWait } = options
  const lock = join(process.env.TMPDIR ?? '/tmp', 'am-cluster.lock')
  const owner = join(lock, 'pid')
  const deadline = Date.now() + timeoutMs
  let told = false
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(owner, String(process.pid))
      return () => rmSync(lock, { recursive: true, force: true })
    } catch {
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
      if (!told) {
        onWait?.(pid, lock)
        told = true
      }
      await new Promise((resolve) => setTimeout(resolve, 1000))
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
