import { bindQueue } from '@am/testkit'
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createPublisher } from '../src/index.js'
import { uniqueName, url } from './helpers.js'

const exporter = new InMemorySpanExporter()

beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
})

afterAll(() => {
  trace.disable()
  context.disable()
  propagation.disable()
})

describe('Publisher tracing', () => {
  it('publishes in a PRODUCER span, child of the active one, and puts its context in the headers', async () => {
    const publisher = createPublisher({ urls: url, name: uniqueName('pubtrace') })
    onTestFinished(() => publisher.destroy())
    const key = `${publisher.name}-Happened`
    const events = await bindQueue(url, 'events', key)
    await trace.getTracer('publisher-tracing.test').startActiveSpan('request', async (root) => {
      await publisher.publishEvent(key, 1, { conversationId: 'c' })
      root.end()
    })
    const message = await events.next()
    const publish = exporter.getFinishedSpans().find((s) => s.name === 'publish events')
    const root = exporter.getFinishedSpans().find((s) => s.name === 'request')
    expect({
      kind: publish?.kind,
      parent: publish?.parentSpanContext?.spanId,
      routingKey: publish?.attributes['messaging.rabbitmq.destination.routing_key'],
      headers: message.properties.headers,
    }).toEqual({
      kind: SpanKind.PRODUCER,
      parent: root?.spanContext().spanId,
      routingKey: key,
      headers: {
        conversation_id: 'c',
        traceparent: `00-${publish?.spanContext().traceId}-${publish?.spanContext().spanId}-01`,
      },
    })
  })
})
