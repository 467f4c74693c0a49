// Two instances of one service share work through the store: each job goes to exactly one of them,
// and a shared token is created once for both. Run after `pnpm --filter @am/tmp-store build`:
//   node example/share-work.mjs                  (starts a throwaway redis-server)
//   REDIS=127.0.0.1:6379 node example/share-work.mjs
import { createTmpStore } from '@am/tmp-store'
import { startRedis } from '../scripts/redis-server.mjs'

const server = process.env.REDIS ? undefined : await startRedis()
const redis = process.env.REDIS ?? server.address
const namespace = `example-${process.pid}:`

// Two instances: in real life two processes (or machines) with the same options.
const alice = await createTmpStore({ namespace, redis })
const bob = await createTmpStore({ namespace, redis })

try {
  // Someone puts 20 jobs in the store, each under its own key.
  const jobs = Array.from({ length: 20 }, (_, i) => `job-${i}`)
  await alice.mset(Object.fromEntries(jobs.map((key, i) => [key, { n: i, square: i * i }])), 60)

  // Both instances take the jobs, at the same time, in opposite orders.
  const work = async (store, order) => {
    const mine = []
    for (const key of order) {
      const job = await store.pop(key)
      if (job !== undefined) mine.push(job.n)
    }
    return mine
  }
  const [byAlice, byBob] = await Promise.all([work(alice, jobs), work(bob, [...jobs].reverse())])
  console.log(`alice took ${byAlice.length} jobs: ${byAlice.join(' ')}`)
  console.log(`bob took ${byBob.length} jobs: ${byBob.join(' ')}`)
  const all = [...byAlice, ...byBob].sort((a, b) => a - b)
  console.log(`every job taken exactly once: ${all.length === 20 && all.every((n, i) => n === i)}`)

  // A token both need, created by whichever asks first, under a lock.
  let created = 0
  const makeToken = async () => {
    created += 1
    return { token: `t-${process.pid}` }
  }
  const [a, b] = await Promise.all([
    alice.peekOrCreate('token', makeToken, { maxOpTime: 5 }),
    bob.peekOrCreate('token', makeToken, { maxOpTime: 5 }),
  ])
  console.log(`token created ${created} time(s), same for both: ${a.token === b.token}`)
  console.log(`store up: ${!(await alice.isDown())}`)
} finally {
  await alice.close()
  await bob.close()
  await server?.kill()
}
