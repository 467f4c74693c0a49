import type { Metric, Registry } from 'prom-client'
import type { HistogramStats, InputStats, OutputStats, ServiceStats } from './metrics.js'

/** prom-client's module, as `import('prom-client')` gives it. */
export type PromClient = typeof import('prom-client')

/** What `/metrics` reads from a service. */
export interface MetricsSource {
  readonly name: string
  health(): { ready: boolean }
  stats(): ServiceStats
}

/** The Prometheus exposition of one service: its own registry, read from `stats()` at each scrape. */
export interface Exposition {
  readonly contentType: string
  /** The text format of every metric, from one `stats()` snapshot. */
  scrape(): Promise<string>
}

const CONNECTION_STATES = ['idle', 'connecting', 'connected', 'reconnecting', 'closing', 'closed', 'failed'] as const

type Labels = Record<string, string>
type Sample = [labels: Labels, value: number]

const KEYED = ['kind', 'routing_key']
const INPUT_COUNTERS = [
  ['am_bus_received_total', 'received', 'Deliveries handed to the service (redeliveries included).'],
  ['am_bus_acked_total', 'acked', 'Deliveries acked.'],
  ['am_bus_requeued_total', 'requeued', 'Deliveries nacked with requeue.'],
  ['am_bus_dead_lettered_total', 'deadLettered', 'Deliveries nacked without requeue (dead-lettered).'],
  ['am_bus_handler_errors_total', 'handlerErrors', 'Handler calls that threw.'],
] as const satisfies ReadonlyArray<readonly [string, keyof InputStats, string]>
const OUTPUT_COUNTERS = [
  ['am_bus_published_total', 'published', 'Publishes handed to the supervisor (re-publishes after a nack included).'],
  ['am_bus_confirmed_total', 'confirmed', 'Publishes confirmed by the broker.'],
  ['am_bus_nacked_total', 'nacked', 'Publishes nacked by the broker.'],
  ['am_bus_returned_total', 'returned', 'Mandatory publishes returned unroutable.'],
  [
    'am_bus_publish_failed_total',
    'failed',
    'Publishes without an answer from the broker: connection lost, buffer full, closed.',
  ],
] as const satisfies ReadonlyArray<readonly [string, keyof OutputStats, string]>

/**
 * Loads prom-client (an optional peer dependency) with a dynamic import: a service without the
 * endpoint, or never scraped, never loads it.
 * @internal
 */
export async function loadPromClient(): Promise<PromClient> {
  const module = (await import('prom-client')) as PromClient & { default?: PromClient }
  // The CommonJS module comes as `default` when imported from ESM in some loaders.
  return typeof module.Registry === 'function' ? module : (module.default as PromClient)
}

/** True when `error` says a module could not be found (ESM or CommonJS). */
export function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
}

/**
 * Builds the registry of a service: counters and gauges whose `collect()` copies the snapshot taken
 * for the scrape, and histograms given as pre-aggregated buckets (prom-client's `Histogram` only
 * observes, and the hot path never calls prom-client). Never the global default registry.
 * @internal
 */
export function createExposition(client: PromClient, source: MetricsSource, processMetrics = false): Exposition {
  const registry: Registry = new client.Registry()
  registry.setDefaultLabels({ service: source.name })
  const registers = [registry]
  // Set for the duration of one `registry.metrics()` call: every collect() runs synchronously in it.
  let stats: ServiceStats | undefined
  let ready = false
  const current = (): ServiceStats => stats ?? source.stats()

  const counter = (name: string, help: string, labelNames: string[], read: (s: ServiceStats) => Sample[]): void => {
    new client.Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset()
        for (const [labels, value] of read(current())) this.inc(labels, value)
      },
    })
  }
  const gauge = (name: string, help: string, labelNames: string[], read: (s: ServiceStats) => Sample[]): void => {
    new client.Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset()
        for (const [labels, value] of read(current())) this.set(labels, value)
      },
    })
  }
  const histogram = (name: string, help: string, read: (s: ServiceStats) => Array<[Labels, HistogramStats]>): void => {
    const metric = {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => {
        const s = current()
        const values: Array<{ metricName: string; labels: Labels; value: number }> = []
        for (const [labels, h] of read(s)) {
          s.bucketBounds.forEach((bound, i) => {
            values.push({
              metricName: `${name}_bucket`,
              labels: { ...labels, le: String(bound) },
              value: h.buckets[i] ?? 0,
            })
          })
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count })
          values.push({ metricName: `${name}_sum`, labels, value: h.sum })
          values.push({ metricName: `${name}_count`, labels, value: h.count })
        }
        return { name, help, type: 'histogram', aggregator: 'sum', values }
      },
    }
    registry.registerMetric(metric as unknown as Metric)
  }

  // `metrics: false` is fixed for the life of a service: then only the gauges are exposed.
  if (source.stats().metrics) {
    const keyOf = (r: { kind: string; routingKey: string }): Labels => ({ kind: r.kind, routing_key: r.routingKey })
    for (const [name, field, help] of INPUT_COUNTERS) {
      counter(name, help, KEYED, (s) => s.inputs.map((r) => [keyOf(r), r[field]]))
    }
    for (const [name, field, help] of OUTPUT_COUNTERS) {
      counter(name, help, KEYED, (s) => s.outputs.map((r) => [keyOf(r), r[field]]))
    }
    counter('am_bus_reconnections_total', 'Times the service connected again after losing its connection.', [], (s) => [
      [{}, s.reconnections],
    ])
    histogram(
      'am_bus_handler_duration_seconds',
      'Time from the handler call until it returned or threw, in seconds.',
      (s) => s.inputs.map((r) => [keyOf(r), r.handlerDuration]),
    )
    histogram(
      'am_bus_confirm_latency_seconds',
      "Time from a publish until the broker's answer (ack, nack, or return then ack), in seconds.",
      (s) => s.confirmLatency.map((h) => [{ kind: h.kind }, h]),
    )
  }
  gauge('am_bus_in_flight_deliveries', 'Deliveries being handled.', [], (s) => [[{}, s.gauges.inFlight]])
  gauge('am_bus_unsettled_deliveries', 'Deliveries not yet acked or nacked.', [], (s) => [[{}, s.gauges.unsettled]])
  gauge('am_bus_unconfirmed_publishes', 'Publishes awaiting their broker confirm.', [], (s) => [
    [{}, s.gauges.unconfirmed],
  ])
  gauge('am_bus_buffered_publishes', 'Publishes waiting to be sent.', [], (s) => [[{}, s.gauges.buffered]])
  gauge('am_bus_buffered_bytes', 'Bytes of the publishes waiting to be sent.', [], (s) => [
    [{}, s.gauges.bufferedBytes],
  ])
  gauge('am_bus_connected', '1 while a connection is open and set up.', [], (s) => [[{}, s.gauges.connected ? 1 : 0]])
  gauge('am_bus_ready', '1 while connected and consuming (as /readyz).', [], () => [[{}, ready ? 1 : 0]])
  gauge('am_bus_connection_generation', 'The number of the current connection (1 for the first).', [], (s) => [
    [{}, s.gauges.generation],
  ])
  gauge('am_bus_connection_state', "The supervisor's state: 1 for the current one.", ['state'], (s) =>
    CONNECTION_STATES.map((state) => [{ state }, s.gauges.connectionState === state ? 1 : 0]),
  )

  // Node's own (CPU, memory, event-loop lag, GC, handles), after ours, in the same registry: they get
  // the `service` label too, and never touch prom-client's global registry.
  if (processMetrics) client.collectDefaultMetrics({ register: registry })

  return {
    contentType: registry.contentType,
    scrape: () => {
      stats = source.stats()
      ready = source.health().ready
      // Every collect() and get() runs synchronously inside this call, before its first await.
      const text = registry.metrics()
      stats = undefined
      return text
    },
  }
}
