import { performance } from 'node:perf_hooks'
import { type Delivery, PublishError, type SupervisorState } from '@am/bus-core'
import type { MessageKind } from '@am/protocol'

/**
 * Upper bounds of the histogram buckets, in seconds (Prometheus `le`), shared by every histogram;
 * an observation above the last one counts in `+Inf` only.
 */
export const BUCKET_BOUNDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
])

/**
 * Distinct (kind, routing key) pairs recorded per direction (inputs, outputs); later ones are
 * recorded under the routing key `OTHER_ROUTING_KEY`, so a `#` subscription or a flood of unknown
 * keys cannot grow the snapshot and the scrape without bound.
 */
export const MAX_ROUTING_KEYS = 1000
/** The routing key of the records past `MAX_ROUTING_KEYS`. */
export const OTHER_ROUTING_KEY = '(other)'

/** A histogram in a snapshot. */
export interface HistogramStats {
  /** Observations ≤ each of `ServiceStats.bucketBounds`, cumulative (as Prometheus `_bucket`). */
  buckets: number[]
  /** Sum of the observations, in seconds. */
  sum: number
  /** Number of observations (Prometheus `le="+Inf"`). */
  count: number
}

/** Counters of the messages consumed under one routing key of one kind. */
export interface InputStats {
  /** `event`, `command`, `result` or `configuration`, from the queue (refused messages of the commands queue count as `command`). */
  kind: MessageKind
  /** The routing key as delivered (a dead letter replayed through the default exchange: its original key). */
  routingKey: string
  /** Deliveries handed to the service (redeliveries count again). */
  received: number
  /** Acks sent. */
  acked: number
  /** Nacks with requeue sent (first handler failure, `'requeue'`). */
  requeued: number
  /** Nacks without requeue sent: to the dead-letter exchange (refused, no handler, second failure, `'drop'`, returned output). */
  deadLettered: number
  /** Handler calls that threw. */
  handlerErrors: number
  /** Time from the handler's call until it returned or threw (its promise settled); the wait for confirms is not included. */
  handlerDuration: HistogramStats
}

/** Counters of the messages published under one routing key of one kind (logs are not counted). */
export interface OutputStats {
  kind: MessageKind
  routingKey: string
  /** Publishes handed to the supervisor; a re-publish after a nack counts again. */
  published: number
  /** Confirmed (acked) by the broker, and not returned. */
  confirmed: number
  /** Nacked by the broker (each attempt). */
  nacked: number
  /** Returned unroutable (`mandatory`), then confirmed. */
  returned: number
  /** Settled otherwise: connection lost before the confirm, buffer full, supervisor closed. */
  failed: number
}

/** Confirm latency of one output kind. */
export interface ConfirmLatencyStats extends HistogramStats {
  kind: MessageKind
}

/** A plain, JSON-serialisable snapshot of a service's metrics (`service.stats()`). */
export interface ServiceStats {
  /** The logical service name. */
  service: string
  /** The service's state (`ServiceState`). */
  state: string
  /** False when the service was created with `metrics: false`: counters and histograms stay empty. */
  metrics: boolean
  /** Values at the time of the snapshot; always filled, with metrics on or off. */
  gauges: {
    /** Deliveries being handled: handler running, or its outputs awaiting their confirms. */
    inFlight: number
    /** Deliveries of the current connection not yet acked or nacked (`takeAck` ones included). */
    unsettled: number
    /** Publishes sent and awaiting their broker confirm. */
    unconfirmed: number
    /** Publishes waiting to be sent (while disconnected or while the confirm window is full). */
    buffered: number
    /** Their bytes. */
    bufferedBytes: number
    /** The supervisor's state; `idle` before `start()`. */
    connectionState: SupervisorState | 'idle'
    /** True while a connection is open and set up. */
    connected: boolean
    /** The number of the current connection (1 for the first, 0 before). */
    generation: number
  }
  /** Times the service connected again after losing its connection. */
  reconnections: number
  /** The bucket upper bounds of every histogram, in seconds (`BUCKET_BOUNDS`). */
  bucketBounds: readonly number[]
  /** By kind (event, command, result, configuration), then routing keys in order of first sight. */
  inputs: InputStats[]
  /** By kind, then routing keys in order of first sight. */
  outputs: OutputStats[]
  /** Time from the publish call to the broker's answer (ack, nack, or return then ack), by output kind seen. */
  confirmLatency: ConfirmLatencyStats[]
}

/** Per-bucket (not cumulative) counts, `+Inf` last, with sum and count: what `observe` fills. */
interface Histogram {
  counts: number[]
  sum: number
  count: number
}

/** @internal the record of one input key; plain number fields, created once per key. */
export interface InputRecord {
  readonly kind: MessageKind
  readonly routingKey: string
  received: number
  acked: number
  requeued: number
  deadLettered: number
  handlerErrors: number
  readonly duration: Histogram
}

/** @internal the record of one output key. */
export interface OutputRecord {
  readonly kind: MessageKind
  readonly routingKey: string
  published: number
  confirmed: number
  nacked: number
  returned: number
  failed: number
}

const KINDS: readonly MessageKind[] = ['event', 'command', 'result', 'configuration']

function createHistogram(): Histogram {
  return { counts: new Array<number>(BUCKET_BOUNDS.length + 1).fill(0), sum: 0, count: 0 }
}

/** @internal counts `seconds` in its bucket (the first whose bound is ≥ it; `+Inf` past the last). */
export function observe(histogram: Histogram, seconds: number): void {
  const bounds = BUCKET_BOUNDS
  let i = 0
  while (i < bounds.length && seconds > (bounds[i] as number)) i++
  histogram.counts[i] = (histogram.counts[i] as number) + 1
  histogram.sum += seconds
  histogram.count += 1
}

/** @internal a histogram with cumulative buckets, as in snapshots. */
export function histogramStats(histogram: Histogram): HistogramStats {
  const buckets: number[] = []
  let total = 0
  for (let i = 0; i < BUCKET_BOUNDS.length; i++) {
    total += histogram.counts[i] as number
    buckets.push(total)
  }
  return { buckets, sum: histogram.sum, count: histogram.count }
}

/** @internal milliseconds on the monotonic clock, for durations (`performance.now()`). */
export const now = (): number => performance.now()

/** @internal observes the time since `startedMs` (from `now()`), in seconds. */
export function observeSince(histogram: Histogram, startedMs: number): void {
  observe(histogram, (performance.now() - startedMs) / 1000)
}

/**
 * The recording side of a service's metrics. The hot path does one property lookup per message
 * (`inputs[kind].get(key)`) and increments plain fields; nothing is allocated after a key's first
 * sight and prom-client is never called (it reads `stats()` at scrape time).
 * @internal
 */
export class Metrics {
  reconnections = 0
  readonly #inputs: Record<MessageKind, Map<string, InputRecord>> = byKind()
  readonly #outputs: Record<MessageKind, Map<string, OutputRecord>> = byKind()
  readonly #confirmLatency: Record<MessageKind, Histogram> = {
    event: createHistogram(),
    command: createHistogram(),
    result: createHistogram(),
    configuration: createHistogram(),
  }
  #inputKeys = 0
  #outputKeys = 0

  /** The record of an input key, with `received` counted. */
  received(kind: MessageKind, routingKey: string): InputRecord {
    const map = this.#inputs[kind]
    let record = map.get(routingKey)
    if (record === undefined) {
      const key = this.#inputKeys < MAX_ROUTING_KEYS ? routingKey : OTHER_ROUTING_KEY
      record = map.get(key)
      if (record === undefined) {
        record = {
          kind,
          routingKey: key,
          received: 0,
          acked: 0,
          requeued: 0,
          deadLettered: 0,
          handlerErrors: 0,
          duration: createHistogram(),
        }
        map.set(key, record)
        this.#inputKeys += 1
      }
    }
    record.received += 1
    return record
  }

  /** The record of an output key, with `published` counted. */
  published(kind: MessageKind, routingKey: string): OutputRecord {
    const map = this.#outputs[kind]
    let record = map.get(routingKey)
    if (record === undefined) {
      const key = this.#outputKeys < MAX_ROUTING_KEYS ? routingKey : OTHER_ROUTING_KEY
      record = map.get(key)
      if (record === undefined) {
        record = { kind, routingKey: key, published: 0, confirmed: 0, nacked: 0, returned: 0, failed: 0 }
        map.set(key, record)
        this.#outputKeys += 1
      }
    }
    record.published += 1
    return record
  }

  /**
   * Counts how a publish made at `startedMs` (`now()`) settled: without `error` it was confirmed;
   * the broker's answers (ack, nack, return) are observed in the confirm latency of its kind.
   */
  settled(record: OutputRecord, startedMs: number, error: unknown): void {
    if (error === undefined) record.confirmed += 1
    else if (error instanceof PublishError && error.code === 'PUBLISH_NACKED') record.nacked += 1
    else if (error instanceof PublishError && error.code === 'PUBLISH_RETURNED') record.returned += 1
    else {
      record.failed += 1
      return
    }
    observeSince(this.#confirmLatency[record.kind], startedMs)
  }

  /** Counters and histograms, copied. */
  snapshot(): Pick<ServiceStats, 'reconnections' | 'inputs' | 'outputs' | 'confirmLatency'> {
    const inputs: InputStats[] = []
    const outputs: OutputStats[] = []
    const confirmLatency: ConfirmLatencyStats[] = []
    for (const kind of KINDS) {
      for (const r of this.#inputs[kind].values()) {
        inputs.push({
          kind: r.kind,
          routingKey: r.routingKey,
          received: r.received,
          acked: r.acked,
          requeued: r.requeued,
          deadLettered: r.deadLettered,
          handlerErrors: r.handlerErrors,
          handlerDuration: histogramStats(r.duration),
        })
      }
      for (const r of this.#outputs[kind].values()) {
        outputs.push({
          kind: r.kind,
          routingKey: r.routingKey,
          published: r.published,
          confirmed: r.confirmed,
          nacked: r.nacked,
          returned: r.returned,
          failed: r.failed,
        })
      }
      const latency = this.#confirmLatency[kind]
      if (latency.count > 0) confirmLatency.push({ kind, ...histogramStats(latency) })
    }
    return { reconnections: this.reconnections, inputs, outputs, confirmLatency }
  }
}

function byKind<T>(): Record<MessageKind, Map<string, T>> {
  return { event: new Map(), command: new Map(), result: new Map(), configuration: new Map() }
}

/** @internal acks `delivery`, counting it when the ack was sent. */
export function ack(delivery: Delivery, record: InputRecord | undefined): void {
  if (delivery.ack() && record !== undefined) record.acked += 1
}

/** @internal nacks `delivery` (requeue or dead-letter), counting it when the nack was sent. */
export function nack(delivery: Delivery, requeue: boolean, record: InputRecord | undefined): void {
  if (delivery.nack(requeue) && record !== undefined) {
    if (requeue) record.requeued += 1
    else record.deadLettered += 1
  }
}
