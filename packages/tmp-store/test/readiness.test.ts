import { createSupervisor } from '@am/bus-core'
import { type Handlers, Service, type ServiceOptions } from '@am/service'
import { uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { startRedis } from '../scripts/redis-server.mjs'
import type { TmpStore } from '../src/index.js'
import { openStore } from './helpers.js'

const url = inject('amqpUrl')

/** The pattern the README documents: a service that is ready only while its store is. */
class Worker extends Service {
  readonly name = uniqueName('store-ready')
  constructor(
    private readonly store: TmpStore,
    options: ServiceOptions,
  ) {
    super(options)
  }
  protected handlers(): Handlers {
    return { events: { [`${this.name}-Nothing`]: () => undefined } }
  }
  override health(): ReturnType<Service['health']> {
    const health = super.health()
    return { ...health, ready: health.ready && this.store.isReady }
  }
}

async function readyz(port: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`)
  return { status: response.status, body: await response.json() }
}

describe('readiness of a Service that uses the store', () => {
  it('answers /readyz 503 while Redis is down, 200 once it is back', async () => {
    const server = await startRedis()
    onTestFinished(() => server.kill())
    const store = await openStore(server.address, { commandTimeout: 500 })
    const worker = new Worker(store, {
      urls: url,
      handleSignals: false,
      healthPort: 0,
      logger: null,
      stopTimeoutMs: 2_000,
    })
    onTestFinished(async () => {
      await worker.stop()
      const bus = createSupervisor({ urls: url })
      await bus.withChannel((channel) => channel.deleteQueue(`${worker.name}.events`)).catch(() => undefined)
      await bus.destroy()
    })
    await worker.start()
    const port = worker.healthPort as number
    const body = (ready: boolean) => ({
      alive: true,
      ready,
      services: { [worker.name]: { state: 'ready', alive: true, ready } },
    })
    const up = await readyz(port)

    await server.kill()
    await waitFor(() => !store.isReady, 5_000, 'the store to see Redis gone')
    const down = await readyz(port)

    const again = await startRedis({ port: server.port })
    onTestFinished(() => again.kill())
    await waitFor(() => store.isReady, 5_000, 'the store to reconnect')
    expect([up, down, await readyz(port)]).toEqual([
      { status: 200, body: body(true) },
      { status: 503, body: body(false) },
      { status: 200, body: body(true) },
    ])
  })
})
