import { encode } from '@am/codec'
import { isAmError } from '@am/errors'
import { describe, expect, it } from 'vitest'
import { createTmpStore, TmpStoreError } from '../src/index.js'
import { openStore, rawClient, useRedis } from './helpers.js'

const redis = useRedis()

describe('set, peek and pop', () => {
  it('stores a value that peek reads and pop takes once', async () => {
    const store = await openStore(redis.server.address)
    await store.set('job', { id: 42, tags: ['a', 'b'], raw: Buffer.from([1, 2]) })
    expect(await store.peek('job')).toEqual({ id: 42, tags: ['a', 'b'], raw: new Uint8Array([1, 2]) })
    expect(await store.pop('job')).toEqual({ id: 42, tags: ['a', 'b'], raw: new Uint8Array([1, 2]) })
    expect([await store.pop('job'), await store.peek('job')]).toEqual([undefined, undefined])
  })

  it('tells a stored null from a missing key', async () => {
    const store = await openStore(redis.server.address)
    await store.set('nothing', null)
    expect([await store.peek('nothing'), await store.pop('nothing'), await store.pop('nothing')]).toEqual([
      null,
      null,
      undefined,
    ])
  })

  it('writes namespace + key with the CBOR bytes and the default TTL of 270 s', async () => {
    const store = await openStore(redis.server.address, { namespace: 'layout-test/' })
    const raw = await rawClient(redis.server.address)
    await store.set('k', { a: 1 })
    expect([await raw.getBuffer('layout-test/k'), await raw.ttl('layout-test/k')]).toEqual([encode({ a: 1 }), 270])
  })

  it('uses the TTL of the store, or the one given to set', async () => {
    const store = await openStore(redis.server.address, { ttl: 30 })
    const raw = await rawClient(redis.server.address)
    await store.set('short', 1)
    await store.set('long', 1, 900)
    expect([await raw.ttl(`${store.namespace}short`), await raw.ttl(`${store.namespace}long`)]).toEqual([30, 900])
  })

  it('keeps namespaces apart', async () => {
    const one = await openStore(redis.server.address)
    const two = await openStore(redis.server.address)
    await one.set('same', 'one')
    await two.set('same', 'two')
    expect([await one.pop('same'), await two.pop('same')]).toEqual(['one', 'two'])
  })
})

describe('mset and mpop', () => {
  it('stores several values with one TTL', async () => {
    const store = await openStore(redis.server.address)
    const raw = await rawClient(redis.server.address)
    await store.mset({ a: 1, b: 'two', c: [3] }, 60)
    const ns = store.namespace
    expect(await Promise.all(['a', 'b', 'c'].map((k) => raw.ttl(ns + k)))).toEqual([60, 60, 60])
    expect(await store.mpop('c', 'a', 'b')).toEqual([[3], 1, 'two'])
    expect(await raw.exists(`${ns}a`, `${ns}b`, `${ns}c`)).toBe(0)
  })

  it('takes nothing when one key is missing', async () => {
    const store = await openStore(redis.server.address)
    await store.mset({ a: 1, b: 2 })
    expect(await store.mpop('a', 'b', 'missing')).toBeUndefined()
    expect([await store.peek('a'), await store.peek('b')]).toEqual([1, 2])
  })

  it('does nothing for an empty mset or mpop', async () => {
    const store = await openStore(redis.server.address)
    await store.mset({})
    expect(await store.mpop()).toEqual([])
  })
})

describe('peekOrCreate', () => {
  it('creates a missing value once, then returns the stored one', async () => {
    const store = await openStore(redis.server.address)
    const created: number[] = []
    const factory = () => {
      created.push(created.length)
      return { token: 'abc' }
    }
    const first = await store.peekOrCreate('token', factory, { maxOpTime: 5, ttl: 40 })
    const second = await store.peekOrCreate('token', factory, { maxOpTime: 5 })
    const raw = await rawClient(redis.server.address)
    expect([first, second, created, await raw.ttl(`${store.namespace}token`), await raw.exists('token_lock')]).toEqual([
      { token: 'abc' },
      { token: 'abc' },
      [0],
      40,
      0,
    ])
  })

  it('fails with STORE_LOCK_TIMEOUT while another holder keeps the lock', async () => {
    const store = await openStore(redis.server.address)
    const raw = await rawClient(redis.server.address)
    const key = `${store.namespace}held`
    await raw.set(`${key}_lock`, 'someone-else', 'PX', 10_000)
    const started = Date.now()
    const error = await store.peekOrCreate(key, () => 1, { maxOpTime: 10, lockWait: 300 }).catch((e: unknown) => e)
    expect([(error as TmpStoreError).code, (error as Error).message]).toEqual([
      'STORE_LOCK_TIMEOUT',
      `could not take the lock '${key}_lock' within 300 ms: another instance is still creating '${key}' (raise maxOpTime or lockWait)`,
    ])
    expect(Date.now() - started).toBeLessThan(2_000)
  })
})

describe('errors', () => {
  it('rejects a value stored by someone else that is not CBOR', async () => {
    const store = await openStore(redis.server.address)
    const raw = await rawClient(redis.server.address)
    await raw.set(`${store.namespace}bad`, Buffer.from([0x82, 0x01]))
    const error = await store.peek('bad').catch((e: unknown) => e)
    expect([isAmError(error, 'STORE_DECODE_FAILED'), error instanceof TmpStoreError, (error as Error).name]).toEqual([
      true,
      true,
      'TmpStoreError',
    ])
  })

  it('refuses a TTL that is not a positive whole number of seconds', async () => {
    const store = await openStore(redis.server.address)
    await expect(store.set('k', 1, 1.5)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[TmpStoreError: ttl must be a positive whole number of seconds, not 1.5]`,
    )
    await expect(createTmpStore({ namespace: 'x', redis: redis.server.address, ttl: 0 })).rejects.toMatchObject({
      code: 'STORE_INVALID_ARGUMENT',
    })
  })

  it('answers a wrong-type key with STORE_COMMAND_FAILED', async () => {
    const store = await openStore(redis.server.address)
    const raw = await rawClient(redis.server.address)
    await raw.lpush(`${store.namespace}list`, 'x')
    await expect(store.peek('list')).rejects.toMatchObject({ code: 'STORE_COMMAND_FAILED' })
  })

  it('fails with STORE_CLOSED after close, which is idempotent', async () => {
    const store = await createTmpStore({ namespace: 'closed:', redis: redis.server.address })
    await Promise.all([store.close(), store.close()])
    await expect(store.peek('k')).rejects.toThrowErrorMatchingInlineSnapshot(
      `[TmpStoreError: peek: the store is closed]`,
    )
    expect(store.isReady).toBe(false)
  })

  it('lets the commands in flight finish on close', async () => {
    const store = await createTmpStore({ namespace: 'graceful:', redis: redis.server.address })
    const sets = Array.from({ length: 200 }, (_, i) => store.set(`k${i}`, i).then(() => 'ok'))
    await store.close()
    expect(new Set(await Promise.all(sets))).toEqual(new Set(['ok']))
  })

  it('settles every command in flight on destroy, and refuses new ones', async () => {
    const store = await createTmpStore({ namespace: 'graceful:', redis: redis.server.address })
    await store.set('k', 'v')
    const peeks = Array.from({ length: 200 }, () => store.peek('k').catch((e: TmpStoreError) => e.code))
    store.destroy()
    const outcomes = new Set(await Promise.all(peeks))
    expect([...outcomes].filter((o) => o !== 'v' && o !== 'STORE_CLOSED')).toEqual([])
    await expect(store.peek('k')).rejects.toMatchObject({ code: 'STORE_CLOSED' })
  })

  it('closes with await using', async () => {
    let outside: Awaited<ReturnType<typeof createTmpStore>> | undefined
    {
      await using store = await createTmpStore({ namespace: 'using:', redis: redis.server.address })
      outside = store
      expect([store.isReady, await store.isDown()]).toEqual([true, false])
    }
    await expect(outside.set('k', 1)).rejects.toMatchObject({ code: 'STORE_CLOSED' })
  })
})
