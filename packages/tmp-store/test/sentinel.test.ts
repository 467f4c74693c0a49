import { waitFor } from '@am/testkit'
import { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import { freePort, startRedis, startSentinels } from '../scripts/redis-server.mjs'
import { createTmpStore, type TmpStore } from '../src/index.js'

/** What `ROLE` says of the server at `port`: 'master' or 'slave'. */
async function roleOf(port: number): Promise<string> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true })
  try {
    await client.connect()
    return ((await client.call('ROLE')) as string[])[0] as string
  } finally {
    client.disconnect()
  }
}

describe('Redis Sentinel', () => {
  it('follows the new master after the master is killed', async () => {
    const master = await startRedis()
    onTestFinished(() => master.kill())
    const replica = await startRedis({ replicaOf: master.port })
    onTestFinished(() => replica.kill())
    const sentinels = await startSentinels({ masterPort: master.port, name: 'store', downAfterMs: 1000 })
    onTestFinished(async () => {
      for (const sentinel of sentinels) await sentinel.kill()
    })
    const warnings: string[] = []
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} }
    const store: TmpStore = await createTmpStore({
      namespace: 'failover:',
      sentinels: sentinels.map((s) => s.address),
      masterName: 'store',
      commandTimeout: 250,
      logger,
    })
    onTestFinished(() => store.close())
    await store.set('k', { before: true })
    const direct = new Redis({ host: '127.0.0.1', port: master.port })
    expect(await direct.call('WAIT', '1', '2000')).toBe(1)
    direct.disconnect()

    await master.kill()
    const killedAt = Date.now()
    const failures: string[] = []
    const value = await waitFor(
      () =>
        store.peek('k').catch((error: { code: string; message: string }) => {
          failures.push(`${error.code}: ${error.message}`)
          return undefined
        }),
      30_000,
      'the store to read from the new master',
    ).catch(async (error: Error) => {
      const role = await roleOf(replica.port).catch((e: Error) => e.message)
      throw new Error(`${error.message}; replica is ${role}; last failures: ${failures.slice(-3).join(' | ')}`)
    })
    const failoverMs = Date.now() - killedAt
    console.info(
      `tmp-store failover: first successful read ${failoverMs} ms after the master was killed (${failures.length} failed attempts)`,
    )
    await store.set('after', 1)
    expect({
      value,
      replicaRole: await roleOf(replica.port),
      after: await store.pop('after'),
      ready: store.isReady,
      warnings,
      failures: failures.filter((f) => !f.startsWith('STORE_UNAVAILABLE: peek: ')),
    }).toEqual({
      value: { before: true },
      replicaRole: 'master',
      after: 1,
      ready: true,
      failures: [],
      warnings: [
        `tmp-store: Redis master 'store' (sentinels ${sentinels.map((s) => s.address).join(', ')}) is unreachable: connection closed`,
      ],
    })
    expect(failoverMs).toBeLessThan(15_000)
  })

  it('uses a single address as the Redis server itself, as eventail does', async () => {
    const server = await startRedis()
    onTestFinished(() => server.kill())
    await using store = await createTmpStore({ namespace: 'single:', sentinels: [server.address] })
    await store.set('k', 'v')
    expect(await store.pop('k')).toBe('v')
  })

  it('fails with STORE_UNAVAILABLE when no sentinel answers', async () => {
    const ports = [await freePort(), await freePort()]
    const started = Date.now()
    const error = await createTmpStore({
      namespace: 'x:',
      sentinels: ports.map((p) => `127.0.0.1:${p}`),
      masterName: 'store',
      connectTimeout: 1000,
    }).catch((e: unknown) => e)
    expect((error as { code: string }).code).toBe('STORE_UNAVAILABLE')
    expect((error as Error).message).toBe(
      `cannot connect to Redis master 'store' (sentinels 127.0.0.1:${ports[0]}, 127.0.0.1:${ports[1]}): no sentinel answered: start Redis or check the address`,
    )
    expect(Date.now() - started).toBeLessThan(2_500)
  })

  it('requires masterName with two or more sentinels', async () => {
    await expect(
      createTmpStore({ namespace: 'x:', sentinels: ['127.0.0.1:1', '127.0.0.1:2'] }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[TmpStoreError: masterName is required with two or more sentinels]`)
  })
})
