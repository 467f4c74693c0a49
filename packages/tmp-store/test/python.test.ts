import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { python, runPython, uniqueName } from '@am/testkit'
import { describe, expect, it, onTestFinished } from 'vitest'
import { openStore, rawClient, useRedis } from './helpers.js'

const redis = useRedis()
const peerScript = fileURLToPath(new URL('./python/peer.py', import.meta.url))

/** The value the Python peer writes and expects, as we decode it. */
const SAMPLE = {
  text: 'é☃',
  int: 1,
  big: 2 ** 40,
  neg: -5,
  float: 1.5,
  bytes: new Uint8Array([0x00, 0xff]),
  list: [1, 'a', null, true, false],
  nested: { a: { b: [] } },
}

async function peer(namespace: string, action: string, ...args: string[]): Promise<unknown> {
  const code = `import runpy, sys; sys.argv = ['peer.py'] + sys.argv[1:]; runpy.run_path(${JSON.stringify(peerScript)}, run_name='__main__')`
  const stdout = await runPython(code, [String(redis.server.port), namespace, action, ...args])
  return JSON.parse(stdout.trim())
}

/** A long-running peer whose output lines are read one by one, and whose stdin says "go on". */
function livePeer(namespace: string, action: string, ...args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(python, [
    peerScript,
    String(redis.server.port),
    namespace,
    action,
    ...args,
  ])
  onTestFinished(() => {
    child.kill()
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  return {
    next: async (): Promise<unknown> => JSON.parse((await lines.next()).value as string),
    goOn: () => child.stdin.write('\n'),
  }
}

describe('sharing the store with a Python (eventail) instance', () => {
  it('reads what Python wrote: values, mset TTLs and atomic takes', async () => {
    const store = await openStore(redis.server.address)
    const started = Date.now()
    expect(await peer(store.namespace, 'write')).toBe('written')
    const raw = await rawClient(redis.server.address)
    const ttls = [await raw.ttl(`${store.namespace}py-m1`), await raw.ttl(`${store.namespace}py-m2`)]
    // Redis counts the TTL down in whole seconds: what it says depends on how long Python took.
    const lowest = 100 - Math.ceil((Date.now() - started) / 1000)
    expect(ttls.every((ttl) => ttl >= lowest && ttl <= 100), `ttls ${ttls} within [${lowest}, 100]`).toBe(true)
    expect({
      peek: await store.peek('py-set'),
      missing: await store.mpop('py-m1', 'py-m2', 'nope'),
      mpop: await store.mpop('py-m1', 'py-m2'),
      pop: await store.pop('py-set'),
      popAgain: await store.pop('py-set'),
    }).toEqual({
      peek: SAMPLE,
      missing: undefined,
      mpop: ['one', [2]],
      pop: SAMPLE,
      popAgain: undefined,
    })
  })

  it('writes what Python reads, byte for byte as cbor2 encodes it', async () => {
    const store = await openStore(redis.server.address)
    await store.set('ts-set', SAMPLE)
    await store.mset({ 'ts-m1': { n: 1 }, 'ts-m2': 'two' })
    const started = Date.now()
    await store.set('ts-short', true, 33)
    const bytes = { $bytes: '00ff' }
    const read = (await peer(store.namespace, 'read')) as { ttls: number[] }
    // Redis counts the TTL down in whole seconds: what Python reads depends on how long it took to start.
    const lowest = 33 - Math.ceil((Date.now() - started) / 1000)
    expect(read.ttls.length === 1 && read.ttls[0]! >= lowest && read.ttls[0]! <= 33, `ttl ${read.ttls} within [${lowest}, 33]`).toBe(true)
    expect({ ...read, ttls: [33] }).toEqual({
      sample_bytes_equal: true,
      peek: { ...SAMPLE, bytes },
      pop: { ...SAMPLE, bytes },
      pop_again: null,
      mpop_missing: null,
      mpop: [{ n: 1 }, 'two'],
      ttls: [33],
    })
  })

  it('gives each value to exactly one of Python and us when both pop at once', async () => {
    const store = await openStore(redis.server.address)
    const keys = Array.from({ length: 2000 }, (_, i) => `job-${i}`)
    await store.mset(Object.fromEntries(keys.map((key, i) => [key, i])))
    const py = livePeer(store.namespace, 'pop-all', ...keys)
    expect(await py.next()).toBe('ready')
    py.goOn()
    const ours: string[] = []
    for (const key of keys) if ((await store.pop(key)) !== undefined) ours.push(key)
    const theirs = (await py.next()) as string[]
    const both = ours.filter((key) => theirs.includes(key))
    // We pop from the first key, Python from the last: both take some, none twice, none lost.
    expect([ours.length > 0, theirs.length > 0, both, ours.length + theirs.length]).toEqual([true, true, [], 2000])
  })

  it('waits for the creation lock Python holds, and uses its value', async () => {
    const store = await openStore(redis.server.address)
    const key = uniqueName('made')
    const py = livePeer(store.namespace, 'hold-lock', key)
    expect(await py.next()).toBe('locked')
    await expect(store.peekOrCreate(key, () => 'made by us', { maxOpTime: 5, lockWait: 200 })).rejects.toMatchObject({
      code: 'STORE_LOCK_TIMEOUT',
    })
    const waiting = store.peekOrCreate(key, () => 'made by us', { maxOpTime: 5 })
    py.goOn()
    expect([await py.next(), await waiting]).toEqual(['released', 'made by python'])
  })

  it('holds a creation lock that Python respects', async () => {
    const store = await openStore(redis.server.address)
    const key = uniqueName('ours')
    let finish: (value: string) => void = () => undefined
    const creating = store.peekOrCreate(key, () => new Promise<string>((resolve) => (finish = resolve)), {
      maxOpTime: 5,
    })
    const raw = await rawClient(redis.server.address)
    await expect.poll(() => raw.exists(`${key}_lock`)).toBe(1)
    expect(await peer(store.namespace, 'try-lock', key, '0.3')).toBe(false)
    finish('made by us')
    expect(await creating).toBe('made by us')
    expect(await peer(store.namespace, 'try-lock', key, '0.3')).toBe(true)
  })
})
