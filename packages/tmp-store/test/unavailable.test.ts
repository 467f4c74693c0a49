import { createServer, type Socket } from 'node:net'
import { waitFor } from '@am/testkit'
import { describe, expect, it, onTestFinished } from 'vitest'
import { freePort, startRedis } from '../scripts/redis-server.mjs'
import { createTmpStore, type TmpStoreError } from '../src/index.js'
import { openStore } from './helpers.js'

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; ms: number }> {
  const started = Date.now()
  const error = (await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  )) as TmpStoreError
  return { code: error.code, message: error.message, ms: Date.now() - started }
}

describe('an unreachable Redis', () => {
  it('fails createTmpStore at once with STORE_UNAVAILABLE when nothing listens', async () => {
    const port = await freePort()
    const { code, message, ms } = await failure(createTmpStore({ namespace: 'x:', redis: `127.0.0.1:${port}` }))
    expect({ code, message }).toEqual({
      code: 'STORE_UNAVAILABLE',
      message: `cannot connect to Redis at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}: start Redis or check the address`,
    })
    expect(ms).toBeLessThan(2_000)
  })

  it('fails createTmpStore within connectTimeout when the server never answers', async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy()
      silent.close()
    })
    const port = (silent.address() as { port: number }).port
    const { code, message, ms } = await failure(
      createTmpStore({ namespace: 'x:', redis: `127.0.0.1:${port}`, connectTimeout: 500 }),
    )
    expect({ code, message }).toEqual({
      code: 'STORE_UNAVAILABLE',
      message: `cannot connect to Redis at 127.0.0.1:${port}: no connection within 500 ms: start Redis or check the address`,
    })
    expect(ms).toBeGreaterThanOrEqual(450)
    expect(ms).toBeLessThan(1_500)
  })

  it('fails operations within commandTimeout while Redis is down, and recovers when it is back', async () => {
    const server = await startRedis()
    onTestFinished(() => server.kill())
    const warnings: string[] = []
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} }
    const store = await openStore(server.address, { commandTimeout: 500, logger })
    await store.set('k', 'before')
    await server.kill()
    await waitFor(() => !store.isReady, 2_000, 'the store to see Redis gone')
    const { code, message, ms } = await failure(store.peek('k'))
    expect({ code, message }).toEqual({
      code: 'STORE_UNAVAILABLE',
      message: `peek: Redis at ${server.address} did not answer within 500 ms (Command timed out): start Redis or check the address`,
    })
    expect(ms).toBeLessThan(1_500)
    expect(await store.isDown()).toBe(true)
    const again = await startRedis({ port: server.port })
    onTestFinished(() => again.kill())
    await waitFor(() => store.isReady, 5_000, 'the store to reconnect')
    await store.set('k', 'after')
    expect([await store.isDown(), await store.pop('k'), warnings]).toEqual([
      false,
      'after',
      [`tmp-store: Redis at ${server.address} is unreachable: connection closed`],
    ])
  })

  it('never shows the password', async () => {
    const server = await startRedis({ password: 'hunter2-secret' })
    onTestFinished(() => server.kill())
    const wrong = await failure(createTmpStore({ namespace: 'x:', redis: server.address, password: 'wrong-secret' }))
    expect({ code: wrong.code, message: wrong.message }).toEqual({
      code: 'STORE_UNAVAILABLE',
      message: `cannot connect to Redis at ${server.address}: WRONGPASS invalid username-password pair or user is disabled.: check the password and the database number`,
    })
    const store = await openStore(server.address, { password: 'hunter2-secret' })
    await store.set('k', 1)
    expect(await store.pop('k')).toBe(1)
  })
})
