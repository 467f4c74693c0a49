import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { closeConnections } from '@am/testkit'
import { describe, expect, it, onTestFinished } from 'vitest'
import { configurationProperties, eventProperties } from '../src/index.js'
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

/** The health body of an endpoint serving one service. */
function one(name: string, state: string, alive: boolean, ready: boolean) {
  return { alive, ready, services: { [name]: { state, alive, ready } } }
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
      body: one(name, 'ready', true, true),
    })
    expect(await get(port, '/readyz')).toEqual({
      status: 200,
      body: one(name, 'ready', true, true),
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
      { status: 503, body: one(name, 'reconnecting', true, false) },
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
      body: one(name, 'ready', true, true),
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
      { status: 503, body: one(name, 'stopping', true, false) },
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

/** A port free on loopback right now (the kernel's pick). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('one health endpoint per port in a process', () => {
  async function metrics(port: number): Promise<{ samples: Map<string, number>; text: string }> {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(response.status).toBe(200)
    const text = await response.text()
    return { samples: parseExposition(text), text }
  }

  it('serves two services started together on one port, ready only when both are', async () => {
    const port = await freePort()
    const a = uniqueName('health-a')
    const b = uniqueName('health-b')
    cleanupQueues(a)
    cleanupQueues(b)
    let configure = false
    const [first, second] = await Promise.all([
      run((o) => new Probe(a, { events: { [`${a}-E`]: () => undefined } }, { ...o, healthPort: port })),
      run(
        (o) =>
          new Probe(
            b,
            { events: { [`${b}-E`]: () => undefined }, configurations: { [`${b}-Cfg`]: () => configure } },
            { ...o, healthPort: port },
          ),
      ),
    ])
    expect([first.healthPort, second.healthPort]).toEqual([port, port])
    const waiting = {
      alive: true,
      ready: false,
      services: {
        [a]: { state: 'ready', alive: true, ready: true },
        [b]: { state: 'unconfigured', alive: true, ready: false },
      },
    }
    expect([await get(port, '/healthz'), await get(port, '/readyz')]).toEqual([
      { status: 200, body: waiting },
      { status: 503, body: waiting },
    ])
    configure = true
    await send(await peer(), 'configurations', `${b}-Cfg`, { on: true }, configurationProperties())
    await waitFor(async () => (await get(port, '/readyz')).status === 200, 10_000, '/readyz to answer 200')
    expect(await get(port, '/readyz')).toEqual({
      status: 200,
      body: {
        alive: true,
        ready: true,
        services: {
          [a]: { state: 'ready', alive: true, ready: true },
          [b]: { state: 'ready', alive: true, ready: true },
        },
      },
    })
    const { samples, text } = await metrics(port)
    expect([
      samples.get(sample('am_bus_ready', { service: a })),
      samples.get(sample('am_bus_ready', { service: b })),
      samples.get(sample('am_bus_connected', { service: a })),
      samples.get(sample('am_bus_connected', { service: b })),
      (samples.get(sample('process_cpu_user_seconds_total', {})) ?? Number.NaN) >= 0,
      text.match(/^process_cpu_user_seconds_total/gm)?.length,
      text.match(/^# TYPE am_bus_ready gauge$/gm)?.length,
    ]).toEqual([1, 1, 1, 1, true, 1, 1])
  })

  it('keeps serving the others when one stops, and closes when the last one leaves', async () => {
    const port = await freePort()
    const a = uniqueName('health-leave-a')
    const b = uniqueName('health-leave-b')
    cleanupQueues(a)
    cleanupQueues(b)
    const first = await run(
      (o) => new Probe(a, { events: { [`${a}-E`]: () => undefined } }, { ...o, healthPort: port }),
    )
    const second = await run(
      (o) => new Probe(b, { events: { [`${b}-E`]: () => undefined } }, { ...o, healthPort: port }),
    )
    await first.stop()
    expect(await get(port, '/readyz')).toEqual({ status: 200, body: one(b, 'ready', true, true) })
    const { samples } = await metrics(port)
    expect([
      samples.get(sample('am_bus_ready', { service: a })),
      samples.get(sample('am_bus_ready', { service: b })),
    ]).toEqual([undefined, 1])
    await second.stop()
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
    // The port is free again: a new service of the process opens the endpoint anew.
    const third = await run(
      (o) => new Probe(a, { events: { [`${a}-E`]: () => undefined } }, { ...o, healthPort: port }),
    )
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: one(a, 'ready', true, true) })
    await third.stop()
  })

  it('tells two instances of one service name apart', async () => {
    const port = await freePort()
    const name = uniqueName('health-twice')
    cleanupQueues(name)
    const make = () =>
      run((o) => new Probe(name, { events: { [`${name}-E`]: () => undefined } }, { ...o, healthPort: port }))
    await make()
    await make()
    const { body } = await get(port, '/healthz')
    expect(body).toEqual({
      alive: true,
      ready: true,
      services: {
        [name]: { state: 'ready', alive: true, ready: true },
        [`${name}#2`]: { state: 'ready', alive: true, ready: true },
      },
    })
  })

  it('refuses to start when another process holds the port, and says which port', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '0.0.0.0', resolve))
    onTestFinished(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
    const port = (blocker.address() as AddressInfo).port
    const name = uniqueName('health-busy')
    const failed = run((o) => new Probe(name, {}, { ...o, healthPort: port }))
    await expect(failed).rejects.toThrowError(
      expect.objectContaining({
        code: 'SERVICE_INVALID',
        message: `cannot serve /healthz on port ${port}: listen EADDRINUSE: address already in use 0.0.0.0:${port}`,
      }),
    )
  })
})
