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

/** A service served by an endpoint, and the value of its `service` label. */
export interface MetricsMember {
  key: string
  source: MetricsSource
}

/** The Prometheus exposition of an endpoint's services: one registry, read from their `stats()` at each scrape. */
export interface Exposition {
  readonly contentType: string
  /** The text format of every metric of every service, from one `stats()` snapshot each; then Node's process metrics once, when asked. */
  scrape(processMetrics?: boolean): Promise<string>
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

/** One service's snapshot for one scrape. */
interface Snapshot {
  service: string
  stats: ServiceStats
  ready: boolean
}

/**
 * Builds the registry of an endpoint: counters and gauges whose `collect()` copies the snapshots
 * taken for the scrape, one `service` label per service, and histograms given as pre-aggregated
 * buckets (prom-client's `Histogram` only observes, and the hot path never calls prom-client).
 * Node's process metrics go to a second registry, served once after ours. Never the global default
 * registry.
 * @internal
 */
export function createExposition(client: PromClient, members: () => readonly MetricsMember[]): Exposition {
  const registry: Registry = new client.Registry()
  const registers = [registry]
  let processRegistry: Registry | undefined
  // Set for the duration of one `registry.metrics()` call: every collect() runs synchronously in it.
  let snapshots: Snapshot[] = []
  const each = (read: (s: ServiceStats, ready: boolean) => Sample[], recorded = false): Sample[] => {
    const samples: Sample[] = []
    for (const { service, stats, ready } of snapshots) {
      // `metrics: false` is fixed for the life of a service: then only its gauges are exposed.
      if (recorded && !stats.metrics) continue
      for (const [labels, value] of read(stats, ready)) samples.push([{ service, ...labels }, value])
    }
    return samples
  }

  const counter = (name: string, help: string, labelNames: string[], read: (s: ServiceStats) => Sample[]): void => {
    new client.Counter({
      name,
      help,
      labelNames: ['service', ...labelNames],
      registers,
      collect() {
        this.reset()
        for (const [labels, value] of each(read, true)) this.inc(labels, value)
      },
    })
  }
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    read: (s: ServiceStats, ready: boolean) => Sample[],
  ): void => {
    new client.Gauge({
      name,
      help,
      labelNames: ['service', ...labelNames],
      registers,
      collect() {
        this.reset()
        for (const [labels, value] of each(read)) this.set(labels, value)
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
        const values: Array<{ metricName: string; labels: Labels; value: number }> = []
        for (const { service, stats: s } of snapshots) {
          if (!s.metrics) continue
          for (const [own, h] of read(s)) {
            const labels = { service, ...own }
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
        }
        return { name, help, type: 'histogram', aggregator: 'sum', values }
      },
    }
    registry.registerMetric(metric as unknown as Metric)
  }

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
  gauge('am_bus_ready', '1 while connected and consuming (as /readyz).', [], (_s, ready) => [[{}, ready ? 1 : 0]])
  gauge('am_bus_connection_generation', 'The number of the current connection (1 for the first).', [], (s) => [
    [{}, s.gauges.generation],
  ])
  gauge('am_bus_connection_state', "The supervisor's state: 1 for the current one.", ['state'], (s) =>
    CONNECTION_STATES.map((state) => [{ state }, s.gauges.connectionState === state ? 1 : 0]),
  )

  return {
    contentType: registry.contentType,
    scrape: async (processMetrics = false) => {
      snapshots = members().map(({ key, source }) => ({
        service: key,
        stats: source.stats(),
        ready: source.health().ready,
      }))
      let text: string
      try {
        // Every collect() and get() runs synchronously inside this call, before its first await.
        const ours = registry.metrics()
        snapshots = []
        text = await ours
      } finally {
        snapshots = []
      }
      if (!processMetrics) return text
      // Node's own (CPU, memory, event-loop lag, GC, handles): once per process endpoint, no
      // `service` label, never in prom-client's global registry.
      if (!processRegistry) {
        processRegistry = new client.Registry()
        client.collectDefaultMetrics({ register: processRegistry })
      }
      return text + (await processRegistry.metrics())
    },
  }
}
