import { uniqueName } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import type { TmpStore } from '../src/index.js'
import { openStore, useRedis } from './helpers.js'

const redis = useRedis()
const CLIENTS = 8
const ROUNDS = 50

/** `CLIENTS` stores on one namespace, each with its own connection, as instances of one service. */
async function instances(): Promise<TmpStore[]> {
  const namespace = `${uniqueName('race')}:`
  return Promise.all(Array.from({ length: CLIENTS }, () => openStore(redis.server.address, { namespace })))
}

describe('atomic takes from several clients', () => {
  it('gives each popped value to exactly one client', async () => {
    const stores = await instances()
    const winners: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      await stores[0]?.set('job', round)
      const results = await Promise.all(stores.map((store) => store.pop<number>('job')))
      winners.push(results.filter((r) => r !== undefined).length)
      expect(results.filter((r) => r !== undefined)).toEqual([round])
    }
    expect(winners).toEqual(Array(ROUNDS).fill(1))
  })

  it('gives each set of keys to exactly one mpop', async () => {
    const stores = await instances()
    const winners: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      await stores[0]?.mset({ a: round, b: -round, c: 'x' })
      const results = await Promise.all(stores.map((store) => store.mpop('a', 'b', 'c')))
      winners.push(results.filter((r) => r !== undefined).length)
      expect(results.filter((r) => r !== undefined)).toEqual([[round, -round, 'x']])
    }
    expect(winners).toEqual(Array(ROUNDS).fill(1))
  })

  it('calls the factory of peekOrCreate once for all clients', async () => {
    const stores = await instances()
    let calls = 0
    const factory = async () => {
      calls += 1
      // Long enough for every other client to find the value missing and wait for the lock.
      await new Promise((resolve) => setTimeout(resolve, 200))
      return { created: calls }
    }
    const results = await Promise.all(stores.map((store) => store.peekOrCreate('shared', factory, { maxOpTime: 5 })))
    expect([calls, results]).toEqual([1, Array(CLIENTS).fill({ created: 1 })])
  })
})
