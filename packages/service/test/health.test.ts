import { closeConnections } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import { eventProperties } from '../src/index.js'
import {
  cleanupQueues,
  parseExposition,
  peer,
  run,
  sample,
  send,
  TableService,
  uniqueName,
  waitFor,
} from './helpers.js'

const Probe = TableService

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

describe('health endpoint across a reconnection and a stop', () => {
  async function metrics(port: number): Promise<Map<string, number>> {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(response.status).toBe(200)
    return parseExposition(await response.text())
  }

  it('is not ready while reconnecting, and ready again after', async () => {
    const name = uniqueName('health-reconnect')
    cleanupQueues(name)
    const service = await run(
      (o) =>
        new Probe(
          name,
          { events: { [`${name}-E`]: () => undefined } },
          {
            ...o,
            healthPort: 0,
            // A first retry after 1.5 s: long enough to see the endpoint while reconnecting.
            supervisor: { connectionName: `${name}-conn`, reconnect: { initialDelayMs: 1_500, jitter: 0 } },
          },
        ),
    )
    const port = service.healthPort as number
    const gauge = (m: Map<string, number>, metric: string, labels: Record<string, string> = {}) =>
      m.get(sample(metric, { service: name, ...labels }))
    expect(await closeConnections(`${name}-conn`)).toBe(1)
    await waitFor(() => service.state === 'reconnecting', 5_000, 'the connection loss')
    expect([await get(port, '/readyz'), (await get(port, '/healthz')).status]).toEqual([
      { status: 503, body: { service: name, state: 'reconnecting', alive: true, ready: false } },
      200,
    ])
    const during = await metrics(port)
    expect([
      gauge(during, 'am_bus_ready'),
      gauge(during, 'am_bus_connected'),
      gauge(during, 'am_bus_connection_state', { state: 'reconnecting' }),
      gauge(during, 'am_bus_reconnections_total'),
    ]).toEqual([0, 0, 1, 0])
    await waitFor(async () => (await get(port, '/readyz')).status === 200, 10_000, '/readyz to answer 200 again')
    expect(await get(port, '/readyz')).toEqual({
      status: 200,
      body: { service: name, state: 'ready', alive: true, ready: true },
    })
    const after = await metrics(port)
    expect([
      gauge(after, 'am_bus_ready'),
      gauge(after, 'am_bus_connected'),
      gauge(after, 'am_bus_connection_state', { state: 'connected' }),
      gauge(after, 'am_bus_reconnections_total'),
      gauge(after, 'am_bus_connection_generation'),
    ]).toEqual([1, 1, 1, 1, 2])
    expect(service.stats()).toMatchObject({ reconnections: 1, gauges: { generation: 2, connected: true } })
  })

  it('is alive but not ready while stopping, and gone once stopped', async () => {
    const name = uniqueName('health-stop')
    cleanupQueues(name)
    let release: () => void = () => undefined
    let started = false
    const service = await run(
      (o) =>
        new Probe(
          name,
          {
            events: {
              [`${name}-E`]: () => {
                started = true
                return new Promise<void>((resolve) => {
                  release = resolve
                })
              },
            },
          },
          { ...o, healthPort: 0, stopTimeoutMs: 10_000 },
        ),
    )
    const port = service.healthPort as number
    const bus = await peer()
    await send(bus, 'events', `${name}-E`, 1, eventProperties('c-stop'))
    await waitFor(() => started, 5_000, 'the handler to start')
    const stopping = service.stop()
    await waitFor(() => service.state === 'stopping')
    expect([await get(port, '/readyz'), (await get(port, '/healthz')).status]).toEqual([
      { status: 503, body: { service: name, state: 'stopping', alive: true, ready: false } },
      200,
    ])
    const during = await metrics(port)
    expect([
      during.get(sample('am_bus_ready', { service: name })),
      during.get(sample('am_bus_in_flight_deliveries', { service: name })),
    ]).toEqual([0, 1])
    release()
    await stopping
    await expect(fetch(`http://127.0.0.1:${port}/readyz`)).rejects.toThrow()
    expect(service.stats()).toMatchObject({
      state: 'stopped',
      gauges: { inFlight: 0, connected: false, connectionState: 'closed' },
      inputs: [{ kind: 'event', routingKey: `${name}-E`, received: 1, acked: 1, handlerErrors: 0 }],
    })
  })
})
