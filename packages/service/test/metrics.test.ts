import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { PublishError } from '@am/bus-core'
import { register } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { startHealthServer } from '../src/health.js'
import { eventProperties, type Service, type ServiceOptions, type ServiceStats } from '../src/index.js'
import { BUCKET_BOUNDS, histogramStats, MAX_ROUTING_KEYS, Metrics, OTHER_ROUTING_KEY, observe } from '../src/metrics.js'
import {
  cleanupQueues,
  deadLetters,
  parseExposition,
  peer,
  run,
  sample,
  send,
  TableService,
  uniqueName,
  url,
  waitFor,
} from './helpers.js'

const Probe = TableService

const emptyHistogram = (): { buckets: number[]; sum: number; count: number } => ({
  buckets: BUCKET_BOUNDS.map(() => 0),
  sum: 0,
  count: 0,
})

describe('histogram buckets', () => {
  it('counts an observation in the first bucket whose bound is at least its value', () => {
    const h = { counts: new Array<number>(BUCKET_BOUNDS.length + 1).fill(0), sum: 0, count: 0 }
    for (const seconds of [0, 0.0005, 0.0006, 0.001, 0.3, 10, 10.5, 99]) observe(h, seconds)
    // bounds: 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 | +Inf
    expect(h.counts).toEqual([2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 2])
    expect(h.count).toBe(8)
    expect(h.sum).toBeCloseTo(0 + 0.0005 + 0.0006 + 0.001 + 0.3 + 10 + 10.5 + 99, 9)
  })

  it('gives cumulative buckets in snapshots, +Inf being the count', () => {
    const h = { counts: new Array<number>(BUCKET_BOUNDS.length + 1).fill(0), sum: 0, count: 0 }
    for (const seconds of [0.0001, 0.002, 0.002, 0.7, 50]) observe(h, seconds)
    expect(histogramStats(h)).toEqual({
      buckets: [1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4],
      sum: 0.0001 + 0.002 + 0.002 + 0.7 + 50,
      count: 5,
    })
  })

  it('has Prometheus-style increasing bounds in seconds, from 0.5 ms to 10 s', () => {
    expect(BUCKET_BOUNDS).toEqual([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
  })
})

describe('Metrics', () => {
  it('keeps one record per kind and routing key, and folds keys past the limit into one', () => {
    const metrics = new Metrics()
    const first = metrics.received('event', 'A')
    expect(metrics.received('event', 'A')).toBe(first)
    expect(metrics.received('command', 'A')).not.toBe(first)
    // Two keys so far; 998 more reach the limit, the last 3 are folded.
    for (let i = 0; i < MAX_ROUTING_KEYS + 1; i++) metrics.received('event', `K${i}`)
    metrics.received('event', 'A') // a key seen before the limit keeps its record
    const { inputs } = metrics.snapshot()
    expect(inputs).toHaveLength(MAX_ROUTING_KEYS + 1)
    expect(
      inputs.map((r) => `${r.kind}/${r.routingKey}=${r.received}`).filter((r) => !r.startsWith('event/K')),
    ).toEqual(['event/A=3', `event/${OTHER_ROUTING_KEY}=3`, 'command/A=1'])
    expect(inputs.at(-3)).toMatchObject({ routingKey: `K${MAX_ROUTING_KEYS - 3}` })
  })

  it('classifies publish outcomes, and observes the latency of broker answers only', () => {
    const metrics = new Metrics()
    const started = performance.now()
    const record = metrics.published('event', 'E')
    metrics.settled(record, started, undefined)
    metrics.settled(metrics.published('event', 'E'), started, new PublishError('PUBLISH_NACKED', 'nacked'))
    metrics.settled(metrics.published('event', 'E'), started, new PublishError('PUBLISH_RETURNED', 'returned'))
    metrics.settled(metrics.published('event', 'E'), started, new PublishError('PUBLISH_CHANNEL_CLOSED', 'lost'))
    metrics.settled(metrics.published('event', 'E'), started, new Error('buffer full'))
    const snapshot = metrics.snapshot()
    expect(snapshot.outputs).toEqual([
      { kind: 'event', routingKey: 'E', published: 5, confirmed: 1, nacked: 1, returned: 1, failed: 2 },
    ])
    expect(snapshot.confirmLatency.map((h) => [h.kind, h.count])).toEqual([['event', 3]])
  })
})

/** The scripted scenario: its handlers, and how to play it. */
async function scenario(name: string, options: Partial<ServiceOptions> = {}) {
  const ok = `${name}-E`
  const poison = `${name}-Poison`
  const ask = `${name}-Ask`
  const out = `${name}-Out`
  const nowhere = `${name}.Nowhere`
  const calls = { ok: 0, poison: 0, ask: 0 }
  const service = await run(
    (o) =>
      new Probe(
        name,
        {
          events: {
            [ok]: async (payload, ctx) => {
              calls.ok += 1
              // Throws on the first delivery only: requeued once, then handled.
              if ((payload as { fail?: boolean }).fail && !ctx.redelivered) throw new Error('first try fails')
              await ctx.publishEvent(out, payload)
            },
            [poison]: () => {
              calls.poison += 1
            },
            [ask]: async (_payload, ctx) => {
              calls.ask += 1
              // A mandatory command nobody consumes: returned, and the input dead-lettered.
              await ctx.sendCommand(nowhere, {}, { replyTo: `${name}.Reply` })
            },
          },
        },
        { ...o, ...options },
      ),
  )
  const play = async (n: number): Promise<void> => {
    const bus = await peer()
    const props = eventProperties('c-metrics')
    for (let i = 0; i < n; i++) await send(bus, 'events', ok, { i }, props)
    await send(bus, 'events', ok, { fail: true }, props)
    await send(bus, 'events', poison, null, props, Buffer.from('a1', 'hex')) // truncated CBOR
    await send(bus, 'events', ask, {}, props)
  }
  return { service, play, calls, keys: { ok, poison, ask, out, nowhere } }
}

/** Waits until every delivery of the scenario is settled. */
async function settledAll(service: Service, n: number): Promise<ServiceStats> {
  return waitFor(
    () => {
      const stats = service.stats()
      const settled = stats.inputs.reduce((sum, r) => sum + r.acked + r.requeued + r.deadLettered, 0)
      return settled === n + 4 && stats.gauges.inFlight === 0 ? stats : undefined
    },
    15_000,
    'the scenario to settle',
  )
}

describe('service metrics', () => {
  it('counts a scripted scenario exactly: handled, failed once, poison, returned', async () => {
    const n = 5
    const name = uniqueName('metrics')
    cleanupQueues(name)
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const { service, play, calls, keys } = await scenario(name)
    await play(n)
    const stats = await settledAll(service, n)
    await dead.nth(2)
    expect(calls).toEqual({ ok: n + 2, poison: 0, ask: 1 })

    const histograms = (s: ServiceStats) => ({
      inputs: s.inputs.map((r) => ({ ...r, handlerDuration: r.handlerDuration.count })),
      confirmLatency: s.confirmLatency.map((h) => [h.kind, h.count]),
    })
    expect(histograms(stats)).toEqual({
      inputs: [
        {
          kind: 'event',
          routingKey: keys.ok,
          received: n + 2,
          acked: n + 1,
          requeued: 1,
          deadLettered: 0,
          handlerErrors: 1,
          handlerDuration: n + 2,
        },
        {
          kind: 'event',
          routingKey: keys.poison,
          received: 1,
          acked: 0,
          requeued: 0,
          deadLettered: 1,
          handlerErrors: 0,
          handlerDuration: 0,
        },
        {
          kind: 'event',
          routingKey: keys.ask,
          received: 1,
          acked: 0,
          requeued: 0,
          deadLettered: 1,
          handlerErrors: 0,
          handlerDuration: 1,
        },
      ],
      confirmLatency: [
        ['event', n + 1],
        ['command', 1],
      ],
    })
    expect(stats.outputs).toEqual([
      { kind: 'event', routingKey: keys.out, published: n + 1, confirmed: n + 1, nacked: 0, returned: 0, failed: 0 },
      { kind: 'command', routingKey: keys.nowhere, published: 1, confirmed: 0, nacked: 0, returned: 1, failed: 0 },
    ])
    // Local handlers and a local broker: every observation is well under 10 s and above 0.
    const durations = stats.inputs.find((r) => r.routingKey === keys.ok)?.handlerDuration
    expect(durations?.buckets.at(-1)).toBe(n + 2)
    expect(durations?.sum).toBeGreaterThan(0)
    expect(durations?.buckets).toEqual([...(durations?.buckets ?? [])].sort((a, b) => a - b))
    expect(stats.inputs.find((r) => r.routingKey === keys.poison)?.handlerDuration).toEqual(emptyHistogram())
    expect(stats).toMatchObject({
      service: name,
      state: 'ready',
      metrics: true,
      reconnections: 0,
      bucketBounds: BUCKET_BOUNDS,
      gauges: {
        inFlight: 0,
        unconfirmed: 0,
        buffered: 0,
        bufferedBytes: 0,
        connectionState: 'connected',
        connected: true,
        generation: 1,
      },
    })
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats)
  })

  it('serves the same numbers as /metrics, in its own prom-client registry', async () => {
    const n = 3
    const name = uniqueName('metrics-prom')
    cleanupQueues(name)
    const { service, play, keys } = await scenario(name, { healthPort: 0 })
    await play(n)
    await settledAll(service, n)
    const response = await fetch(`http://127.0.0.1:${service.healthPort}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await response.text()
    const samples = parseExposition(text)
    const at = (metric: string, labels: Record<string, string> = {}): number | undefined =>
      samples.get(sample(metric, { service: name, ...labels }))
    const ok = { kind: 'event', routing_key: keys.ok }
    const poison = { kind: 'event', routing_key: keys.poison }
    const ask = { kind: 'event', routing_key: keys.ask }
    const out = { kind: 'event', routing_key: keys.out }
    const nowhere = { kind: 'command', routing_key: keys.nowhere }
    expect({
      received: [
        at('am_bus_received_total', ok),
        at('am_bus_received_total', poison),
        at('am_bus_received_total', ask),
      ],
      acked: [at('am_bus_acked_total', ok), at('am_bus_acked_total', poison), at('am_bus_acked_total', ask)],
      requeued: at('am_bus_requeued_total', ok),
      deadLettered: [at('am_bus_dead_lettered_total', poison), at('am_bus_dead_lettered_total', ask)],
      handlerErrors: [at('am_bus_handler_errors_total', ok), at('am_bus_handler_errors_total', ask)],
      published: [at('am_bus_published_total', out), at('am_bus_published_total', nowhere)],
      confirmed: [at('am_bus_confirmed_total', out), at('am_bus_confirmed_total', nowhere)],
      returned: [at('am_bus_returned_total', out), at('am_bus_returned_total', nowhere)],
      nacked: at('am_bus_nacked_total', out),
      failed: at('am_bus_publish_failed_total', out),
      durationCount: [
        at('am_bus_handler_duration_seconds_count', ok),
        at('am_bus_handler_duration_seconds_count', ask),
      ],
      durationInf: at('am_bus_handler_duration_seconds_bucket', { ...ok, le: '+Inf' }),
      durationTen: at('am_bus_handler_duration_seconds_bucket', { ...ok, le: '10' }),
      poisonDuration: at('am_bus_handler_duration_seconds_count', poison),
      confirmCount: [
        at('am_bus_confirm_latency_seconds_count', { kind: 'event' }),
        at('am_bus_confirm_latency_seconds_count', { kind: 'command' }),
      ],
      reconnections: at('am_bus_reconnections_total'),
      inFlight: at('am_bus_in_flight_deliveries'),
      unconfirmed: at('am_bus_unconfirmed_publishes'),
      buffered: at('am_bus_buffered_publishes'),
      connected: at('am_bus_connected'),
      ready: at('am_bus_ready'),
      generation: at('am_bus_connection_generation'),
      state: [at('am_bus_connection_state', { state: 'connected' }), at('am_bus_connection_state', { state: 'idle' })],
    }).toEqual({
      received: [n + 2, 1, 1],
      acked: [n + 1, 0, 0],
      requeued: 1,
      deadLettered: [1, 1],
      handlerErrors: [1, 0],
      published: [n + 1, 1],
      confirmed: [n + 1, 0],
      returned: [0, 1],
      nacked: 0,
      failed: 0,
      durationCount: [n + 2, 1],
      durationInf: n + 2,
      durationTen: n + 2,
      poisonDuration: 0,
      confirmCount: [n + 1, 1],
      reconnections: 0,
      inFlight: 0,
      unconfirmed: 0,
      buffered: 0,
      connected: 1,
      ready: 1,
      generation: 1,
      state: [1, 0],
    })
    // Every histogram series has its 14 finite buckets, +Inf, _sum and _count.
    expect([...samples.keys()].filter((k) => k.startsWith('am_bus_handler_duration_seconds_bucket{')).length).toBe(
      3 * (BUCKET_BOUNDS.length + 1),
    )
    expect(text).toContain('# TYPE am_bus_handler_duration_seconds histogram')
    expect(text).toContain('# TYPE am_bus_received_total counter')
    expect(text).toContain('# TYPE am_bus_in_flight_deliveries gauge')
    // Node's process metrics, once, without the service label.
    // (prom-client counts CPU from its registration on: an early scrape may read 0, never nothing.)
    const processSample = (metric: string): number => samples.get(sample(metric, {})) ?? Number.NaN
    expect([
      processSample('process_cpu_user_seconds_total') >= 0,
      processSample('nodejs_heap_size_used_bytes') > 0,
    ]).toEqual([true, true])
    expect(at('process_cpu_user_seconds_total')).toBeUndefined()
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge')
    // Never the global default registry.
    expect(await register.metrics()).not.toMatch(/am_bus_|process_cpu|nodejs_/)
  })

  it('records nothing with metrics: false, and still gives the gauges', async () => {
    const n = 2
    const name = uniqueName('metrics-off')
    cleanupQueues(name)
    const { service, play, calls } = await scenario(name, { metrics: false, healthPort: 0, processMetrics: false })
    await play(n)
    await waitFor(() => calls.ok === n + 2 && calls.ask === 1, 15_000)
    await waitFor(() => service.stats().gauges.inFlight === 0 && service.stats().gauges.unsettled === 0)
    const stats = service.stats()
    expect(stats).toEqual({
      service: name,
      state: 'ready',
      metrics: false,
      gauges: {
        inFlight: 0,
        unsettled: 0,
        unconfirmed: 0,
        buffered: 0,
        bufferedBytes: 0,
        connectionState: 'connected',
        connected: true,
        generation: 1,
      },
      reconnections: 0,
      bucketBounds: BUCKET_BOUNDS,
      inputs: [],
      outputs: [],
      confirmLatency: [],
    })
    const samples = parseExposition(await (await fetch(`http://127.0.0.1:${service.healthPort}/metrics`)).text())
    expect([...samples.keys()].filter((k) => k.includes('_total') || k.includes('_seconds'))).toEqual([])
    expect(samples.size).toBe(8 + 7) // 8 gauges, the connection state as 7
    expect(samples.get(sample('am_bus_connected', { service: name }))).toBe(1)
  })

  it('is zero before start and idle without a connection', () => {
    const service = new Probe('never-started', {}, { urls: url, handleSignals: false })
    expect(service.stats().gauges).toEqual({
      inFlight: 0,
      unsettled: 0,
      unconfirmed: 0,
      buffered: 0,
      bufferedBytes: 0,
      connectionState: 'idle',
      connected: false,
      generation: 0,
    })
  })
})

describe('/metrics without prom-client', () => {
  it('answers 501 with one line, and /healthz keeps working', async () => {
    const source = {
      name: 'no-prom',
      health: () => ({ alive: true, ready: true, state: 'ready' }),
      stats: () => {
        throw new Error('not read without prom-client')
      },
    }
    const missing = Object.assign(new Error("Cannot find package 'prom-client'"), { code: 'ERR_MODULE_NOT_FOUND' })
    let loads = 0
    const server = await startHealthServer(0, {
      host: '127.0.0.1',
      loadPromClient: () => {
        loads += 1
        return Promise.reject(missing)
      },
    })
    server.add(source)
    try {
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`http://127.0.0.1:${server.port}/metrics`)
        expect([response.status, await response.text()]).toEqual([
          501,
          '/metrics needs prom-client, an optional peer dependency of @am/service: install it (service.stats() works without it)\n',
        ])
      }
      expect(loads).toBe(1)
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200)
    } finally {
      await server.close()
    }
  })

  it('never loads prom-client in a process where it cannot be resolved (built package, real broker)', async () => {
    const name = uniqueName('metrics-noprom')
    cleanupQueues(name)
    const here = dirname(fileURLToPath(import.meta.url))
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', join(here, 'fixtures', 'without-prom-client.mjs'), join(here, 'fixtures', 'metrics-service.mjs')],
      { env: { ...process.env, AMQP_URL: url, SERVICE_NAME: name }, timeout: 30_000 },
    )
    expect(JSON.parse(stdout)).toEqual({
      healthz: 200,
      metrics: [
        501,
        '/metrics needs prom-client, an optional peer dependency of @am/service: install it (service.stats() works without it)\n',
      ],
      received: 1,
      promClientResolvable: false,
    })
  })
})
