import { describe, expect, it } from 'vitest'
import { type Handlers, Service, type ServiceOptions } from '../src/index.js'
import { cleanupQueues, run, uniqueName } from './helpers.js'

class Probe extends Service {
  readonly name: string
  constructor(
    name: string,
    private readonly table: Handlers,
    options: ServiceOptions,
  ) {
    super(options)
    this.name = name
  }
  protected handlers(): Handlers {
    return this.table
  }
}

async function get(port: number, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: response.status, body: response.status === 404 ? await response.text() : await response.json() }
}

describe('health endpoint', () => {
  it('answers /healthz and /readyz by state, and goes away with the service', async () => {
    const name = uniqueName('health')
    cleanupQueues(name)
    const service = await run(
      (o) => new Probe(name, { events: { [`${name}-E`]: () => undefined } }, { ...o, healthPort: 0 }),
    )
    const port = service.healthPort as number
    expect(await get(port, '/healthz')).toEqual({
      status: 200,
      body: { service: name, state: 'ready', alive: true, ready: true },
    })
    expect(await get(port, '/readyz')).toEqual({
      status: 200,
      body: { service: name, state: 'ready', alive: true, ready: true },
    })
    expect((await get(port, '/other')).status).toBe(404)
    await service.stop()
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
    expect(service.health()).toEqual({ alive: false, ready: false, state: 'stopped' })
  })

  it('is alive but not ready while waiting for configuration', async () => {
    const name = uniqueName('health-cfg')
    cleanupQueues(name)
    const service = await run(
      (o) =>
        new Probe(
          name,
          { events: { E: () => undefined }, configurations: { [`${name}-Cfg`]: () => false } },
          { ...o, healthPort: 0 },
        ),
    )
    const port = service.healthPort as number
    expect([(await get(port, '/healthz')).status, (await get(port, '/readyz')).status]).toEqual([200, 503])
  })

  it('is off by default', async () => {
    const name = uniqueName('health-off')
    const service = await run((o) => new Probe(name, {}, o))
    expect(service.healthPort).toBeUndefined()
  })
})
