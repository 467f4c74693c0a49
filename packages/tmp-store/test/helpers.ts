import { uniqueName } from '@am/testkit'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, onTestFinished } from 'vitest'
import { type RedisProcess, startRedis } from '../scripts/redis-server.mjs'
import { createTmpStore, type TmpStore, type TmpStoreOptions } from '../src/index.js'

/** A redis-server of this test file's own, started before its tests and killed after them. */
export function useRedis(): { readonly server: RedisProcess } {
  const holder = {} as { server: RedisProcess }
  beforeAll(async () => {
    holder.server = await startRedis()
  })
  afterAll(async () => {
    await holder.server?.kill()
  })
  return holder
}

/** A store on `address`, in a namespace of its own unless given, closed when the test ends. */
export async function openStore(address: string, options: Partial<TmpStoreOptions> = {}): Promise<TmpStore> {
  const store = await createTmpStore({ namespace: `${uniqueName('ns')}:`, redis: address, ...options })
  onTestFinished(() => store.close())
  return store
}

/** A raw ioredis client, to look at what the store wrote; closed when the test ends. */
export async function rawClient(address: string): Promise<Redis> {
  const [host, port] = address.split(':')
  const client = new Redis({ host, port: Number(port), lazyConnect: true })
  await client.connect()
  onTestFinished(() => client.disconnect())
  return client
}
