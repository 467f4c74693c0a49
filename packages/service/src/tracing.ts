import type { Delivery, PublishOptions } from '@am/bus-core'
import { headerText } from '@am/protocol'
import type { Attributes, Span, TextMapGetter } from '@opentelemetry/api'

// Trace propagation with OpenTelemetry, when `@opentelemetry/api` is installed (an optional peer
// dependency): PRODUCER spans around publishes, CONSUMER spans around handling, W3C trace context
// (or whatever propagator the application registered) in the AMQP headers. Spans follow the
// messaging semantic conventions for RabbitMQ. Nothing here is loaded without the package, nor used
// when nothing is registered with it; the service's hot path then costs one `undefined` check per message.

type Api = typeof import('@opentelemetry/api')

/** What the service calls; `undefined` in the service when tracing is off or the API is absent. @internal */
export interface Tracing {
  /**
   * Runs `send` in a PRODUCER span `publish <exchange>` after injecting the trace context into
   * `properties.headers` (after the headers already there); the span ends when `send` settles,
   * i.e. when the publish is confirmed, or failed (returned, nacked past retries, channel lost).
   */
  publish(exchange: string, routingKey: string, properties: PublishOptions, send: () => Promise<void>): Promise<void>
  /**
   * Runs `handle` in a CONSUMER span `process <queue>` whose parent is the trace context found in
   * the delivery's headers (none: a new trace), and makes that span the active one for `handle`.
   * The span ends when `handle` settles.
   */
  process(delivery: Delivery, handle: () => Promise<void>): Promise<void>
  /** Marks the active CONSUMER span failed: the handler threw, or its outputs failed. */
  recordFailure(error: unknown): void
}

const SYSTEM = 'rabbitmq'
const TRACER_NAME = '@am/service'

/** Where every copy of `@opentelemetry/api` 1.x keeps what is registered with it. */
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1')

let loading: Promise<{ api: Api; tracing: Tracing } | undefined> | undefined

/**
 * Loads `@opentelemetry/api` once per process; resolves `undefined` when it is not installed, or
 * when nothing is registered with it at this call (no tracer provider and no propagator): spans
 * would then go nowhere and no context would be carried, so the caller takes its path without
 * tracing, at no cost per message. An SDK registered later is not seen by services and publishers
 * started before: register it first, as OpenTelemetry asks.
 * @internal
 */
export async function loadTracing(): Promise<Tracing | undefined> {
  // Any registration with an API 1.x (a tracer provider, a propagator, the context manager, diag)
  // first creates this global: without it nothing is registered, and the API need not be loaded
  // (its import cost a fresh process several ms of its first `start()`).
  if (loading === undefined && !(API_GLOBAL in globalThis)) return undefined
  loading ??= import('@opentelemetry/api').then(
    (api) => ({ api, tracing: createTracing(api) }),
    () => undefined,
  )
  const loaded = await loading
  return loaded && isRegistered(loaded.api) ? loaded.tracing : undefined
}

/** True when a tracer provider or a propagator is registered with the API. @internal */
export function isRegistered(api: Api): boolean {
  const provider = api.trace.getTracerProvider()
  // The global provider is a proxy whose delegate is the registered one (none: no tracer behind it);
  // a provider of another copy of the API is taken as registered.
  const traced = !(provider instanceof api.ProxyTracerProvider) || provider.getDelegateTracer(TRACER_NAME) !== undefined
  return traced || api.propagation.fields().length > 0
}

/** Header values as amqplib decodes them: strings, or bytes for AMQP byte arrays. */
const headerGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => headerText(carrier[key]),
}

function createTracing(api: Api): Tracing {
  const { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } = api
  // A proxy: spans go to whatever provider is registered, even one registered after this call.
  const tracer = trace.getTracer(TRACER_NAME)

  const fail = (span: Span, error: unknown): void => {
    const err = error instanceof Error ? error : new Error(String(error))
    span.recordException(err)
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message })
    const code = (err as { code?: unknown }).code
    span.setAttribute('error.type', typeof code === 'string' ? code : err.name)
  }

  return {
    publish(exchange, routingKey, properties, send) {
      properties.headers ??= {}
      const headers = properties.headers as Record<string, unknown>
      const attributes: Attributes = {
        'messaging.system': SYSTEM,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': exchange,
      }
      if (routingKey) attributes['messaging.rabbitmq.destination.routing_key'] = routingKey
      const conversationId = headers.conversation_id
      if (typeof conversationId === 'string' && conversationId) {
        attributes['messaging.message.conversation_id'] = conversationId
      }
      if (properties.messageId) attributes['messaging.message.id'] = properties.messageId
      const span = tracer.startSpan(`publish ${exchange}`, { kind: SpanKind.PRODUCER, attributes })
      propagation.inject(trace.setSpan(context.active(), span), headers)
      return send().then(
        () => span.end(),
        (error: unknown) => {
          fail(span, error)
          span.end()
          throw error
        },
      )
    },

    process(delivery, handle) {
      const headers = delivery.headers
      // From the headers only: the consumer callback may run in any ambient context.
      const parent = propagation.extract(ROOT_CONTEXT, headers, headerGetter)
      const attributes: Attributes = {
        'messaging.system': SYSTEM,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': delivery.exchange,
        'messaging.destination.subscription.name': delivery.queue,
        'messaging.rabbitmq.message.delivery_tag': delivery.deliveryTag,
      }
      if (delivery.routingKey) attributes['messaging.rabbitmq.destination.routing_key'] = delivery.routingKey
      const conversationId = headerGetter.get(headers, 'conversation_id')
      if (conversationId) attributes['messaging.message.conversation_id'] = conversationId
      const messageId = delivery.properties.messageId as string | undefined
      if (messageId) attributes['messaging.message.id'] = messageId
      const span = tracer.startSpan(
        `process ${spanDestination(delivery)}`,
        { kind: SpanKind.CONSUMER, attributes },
        parent,
      )
      return context.with(trace.setSpan(parent, span), handle).finally(() => span.end())
    },

    recordFailure(error) {
      const span = trace.getActiveSpan()
      if (span) fail(span, error)
    },
  }
}

/**
 * The queue, unless the broker named it (exclusive configuration and debug queues, `amq.gen-…`):
 * span names must not carry a name unique per connection, so those use the exchange.
 */
function spanDestination(delivery: Delivery): string {
  return delivery.queue.startsWith('amq.gen-') ? delivery.exchange : delivery.queue
}
