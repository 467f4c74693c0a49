import { createSupervisor, type Logger, type SupervisorLike, type SupervisorOptions } from '@am/bus-core'
import { CBOR, type ContentType, JSON_CONTENT_TYPE } from '@am/codec'
import { DEFAULT_PREFETCH } from '@am/protocol'
import { ServiceError } from './errors.js'
import type { RetryOptions } from './retry.js'

/** Options of a service. */
export interface ServiceOptions {
  /** Broker URLs, tried round-robin. */
  urls: string | readonly string[]
  /**
   * Unacknowledged messages per consumer, handled concurrently.
   * @default 3
   */
  prefetch?: number
  /**
   * Send JSON instead of CBOR (eventail's `use_json()`).
   * @default false
   */
  json?: boolean
  /**
   * Exclusive server-named queues instead of the shared durable ones (debug tools).
   * @default false
   */
  exclusiveQueues?: boolean
  /**
   * Queue type of the durable service queues (`quorum` for clusters).
   * @default 'classic'
   */
  queueType?: 'classic' | 'quorum'
  /**
   * Stop gracefully on SIGTERM, SIGINT and SIGHUP (handlers installed once per process).
   * @default true
   */
  handleSignals?: boolean
  /**
   * How long `stop()` waits for the consumers' cancels and the handlers in flight (their outputs
   * confirmed), in ms, in all; the supervisor's `closeTimeoutMs` (10 s by default) then bounds the
   * close. A broker that stopped answering costs at most their sum.
   * @default 10000
   */
  stopTimeoutMs?: number
  /**
   * Re-publishes of a publish the broker nacked, with these delays (ms), before the handled
   * message counts as failed. `stop()` cancels the delays still running once its wait is over.
   * @default [200, 1000, 5000]
   */
  nackRetryDelaysMs?: readonly number[]
  /**
   * Delayed retries of the messages whose handler failed: each waits in a wait queue
   * (`<service>.<events|commands>.retry.<delayMs>`) and comes back to the service's queue, up to
   * `delaysMs.length` times, then is dead-lettered (see the README). Overridable per handler-table
   * key (`handlers`). Without it, eventail's policy: requeue once at once, then dead-letter.
   * @default undefined (no delayed retry)
   */
  retry?: RetryOptions
  /** Local log of the framework (the bus log is `log()`). @default null */
  logger?: Logger | null
  /** Passed to the supervisor (heartbeat, reconnect, tls, buffer…). */
  supervisor?: Omit<SupervisorOptions, 'urls' | 'topology' | 'logger'>
  /**
   * Record metrics: per routing key counters, handler duration and confirm latency histograms
   * (`stats()`, and `/metrics` on the health endpoint). With `false` the hot path records nothing;
   * `stats()` still gives the gauges.
   * @default true
   */
  metrics?: boolean
  /**
   * Add Node's process metrics to `/metrics` (prom-client's `collectDefaultMetrics`: CPU, memory,
   * event-loop lag, GC, handles; `process_*` and `nodejs_*`): once per endpoint, without a `service`
   * label, while at least one of its services asks for them.
   * @default true
   */
  processMetrics?: boolean
  /**
   * Serve `/healthz`, `/readyz` and `/metrics` on this port; also set by the environment variable
   * `AM_HEALTH_PORT`. Every service of the process with the same port is served by one server (it
   * closes when the last one stops); 0 gives this service a server of its own on any free port
   * (see `healthPort`). Off by default.
   */
  healthPort?: number
  /**
   * Makes the supervisor: the transport seam, e.g. an in-memory bus for tests (`@am/testing`).
   * @default createSupervisor from @am/bus-core
   */
  supervisorFactory?: (options: SupervisorOptions) => SupervisorLike
  /**
   * Trace propagation with OpenTelemetry when `@opentelemetry/api` is installed: spans around
   * publishes and handlers, W3C trace context in the headers (see the README). `false` turns it off.
   * @default true
   */
  tracing?: boolean
  /**
   * Check the payload of every publish whose key the service declares with a schema
   * (`publishes()`) before it is sent: an invalid one fails with `OUTPUT_INVALID`, nothing sent.
   * @default false
   */
  validateOutputs?: boolean
  /**
   * Refuse to publish an event, command or configuration whose key `publishes()` leaves out
   * (`PUBLISH_UNDECLARED`, nothing sent): a development aid. Without declarations, nothing can be published.
   * @default false
   */
  strictPublications?: boolean
}

/**
 * The options of a service with their defaults, resolved once when it is constructed.
 * `contentType` and `exclusiveQueues` may still change before `start()` (`useJson()`,
 * `useExclusiveQueues()`).
 * @internal
 */
export interface ResolvedOptions {
  readonly urls: string | readonly string[]
  readonly prefetch: number
  contentType: ContentType
  exclusiveQueues: boolean
  readonly queueType: 'classic' | 'quorum'
  readonly handleSignals: boolean
  readonly stopTimeoutMs: number
  readonly nackRetryDelaysMs: readonly number[]
  readonly retry: RetryOptions | undefined
  readonly logger: Logger | null
  readonly supervisor: Omit<SupervisorOptions, 'urls' | 'topology' | 'logger'> | undefined
  readonly metrics: boolean
  readonly processMetrics: boolean
  /** The option only; `AM_HEALTH_PORT` is read at start (`healthPortOf`). */
  readonly healthPort: number | undefined
  readonly supervisorFactory: (options: SupervisorOptions) => SupervisorLike
  readonly tracing: boolean
  readonly validateOutputs: boolean
  readonly strictPublications: boolean
}

/** @internal Resolves the defaults of `options`. */
export function resolveOptions(options: ServiceOptions): ResolvedOptions {
  return {
    urls: options.urls,
    prefetch: options.prefetch ?? DEFAULT_PREFETCH,
    contentType: options.json ? JSON_CONTENT_TYPE : CBOR,
    exclusiveQueues: options.exclusiveQueues ?? false,
    queueType: options.queueType ?? 'classic',
    handleSignals: options.handleSignals !== false,
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    nackRetryDelaysMs: options.nackRetryDelaysMs ?? [200, 1000, 5000],
    retry: options.retry,
    logger: options.logger ?? null,
    supervisor: options.supervisor,
    metrics: options.metrics !== false,
    processMetrics: options.processMetrics !== false,
    healthPort: options.healthPort,
    supervisorFactory: options.supervisorFactory ?? createSupervisor,
    tracing: options.tracing !== false,
    validateOutputs: options.validateOutputs === true,
    strictPublications: options.strictPublications === true,
  }
}

/** @internal The health port: the option, else `AM_HEALTH_PORT`, else none. */
export function healthPortOf(options: ResolvedOptions, env: string | undefined): number | undefined {
  if (options.healthPort !== undefined) return options.healthPort
  if (env === undefined || env === '') return undefined
  const port = Number(env)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ServiceError('SERVICE_INVALID', `AM_HEALTH_PORT must be a port number, got '${env}'`)
  }
  return port
}
