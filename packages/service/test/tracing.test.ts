import { readFileSync } from 'node:fs'
import { runPython } from '@am/testkit'
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cleanupQueues, peer, run, send, spy, TableService, uniqueName, url, waitFor } from './helpers.js'

const Traced = TableService

const peerScript = readFileSync(new URL('./python/peer.py', import.meta.url), 'utf8')
const exporter = new InMemorySpanExporter()
const tracer = trace.getTracer('tracing.test')
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/

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

beforeEach(() => {
  exporter.reset()
})

/** Spans of one trace as `[name, kind, parent name]`, parents before children. */
function chain(spans: ReadableSpan[]): Array<[string, SpanKind, string | undefined]> {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]))
  return [...spans]
    .sort((x, y) => depth(x, byId) - depth(y, byId))
    .map((s) => [s.name, s.kind, s.parentSpanContext ? byId.get(s.parentSpanContext.spanId)?.name : undefined])
}

function depth(span: ReadableSpan, byId: Map<string, ReadableSpan>): number {
  const parent = span.parentSpanContext && byId.get(span.parentSpanContext.spanId)
  return parent ? 1 + depth(parent, byId) : 0
}

function named(name: string): ReadableSpan {
  const span = exporter.getFinishedSpans().find((s) => s.name === name)
  if (!span) throw new Error(`no span ${name} in ${exporter.getFinishedSpans().map((s) => s.name)}`)
  return span
}

describe('trace propagation', () => {
  it('carries one trace from a root span through two services, each hop a child of the previous', async () => {
    expect.hasAssertions()
    const a = uniqueName('trace-a')
    const b = uniqueName('trace-b')
    cleanupQueues(a)
    cleanupQueues(b)
    const done = `${a}-Done`
    const seenByB: Array<Readonly<Record<string, unknown>>> = []
    await run(
      (o) => new Traced(a, { commands: { [`${a}.Start`]: (payload, ctx) => void ctx.publishEvent(done, payload) } }, o),
    )
    await run((o) => new Traced(b, { events: { [done]: (_payload, ctx) => void seenByB.push(ctx.headers) } }, o))
    const client = await run((o) => new Traced(uniqueName('trace-client'), {}, o))

    await tracer.startActiveSpan('root', async (root) => {
      await client.sendCommand(`${a}.Start`, { n: 1 }, { conversationId: 'conv-t', replyTo: `${a}.Unused` })
      root.end()
    })
    await waitFor(() => exporter.getFinishedSpans().length >= 5, 10_000, 'five spans')

    const spans = exporter.getFinishedSpans()
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1)
    expect(chain(spans)).toEqual([
      ['root', SpanKind.INTERNAL, undefined],
      ['publish commands', SpanKind.PRODUCER, 'root'],
      [`process ${a}.commands`, SpanKind.CONSUMER, 'publish commands'],
      ['publish events', SpanKind.PRODUCER, `process ${a}.commands`],
      [`process ${b}.events`, SpanKind.CONSUMER, 'publish events'],
    ])
    expect(named('publish commands').attributes).toEqual({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': 'commands',
      'messaging.rabbitmq.destination.routing_key': `${a}.Start`,
      'messaging.message.conversation_id': 'conv-t',
    })
    expect(named(`process ${a}.commands`).attributes).toEqual({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'commands',
      'messaging.destination.subscription.name': `${a}.commands`,
      'messaging.rabbitmq.destination.routing_key': `${a}.Start`,
      'messaging.rabbitmq.message.delivery_tag': expect.any(Number),
      'messaging.message.conversation_id': 'conv-t',
    })
    expect(named('publish events').attributes).toMatchObject({
      'messaging.destination.name': 'events',
      'messaging.rabbitmq.destination.routing_key': done,
      'messaging.message.conversation_id': 'conv-t',
    })
    expect(named(`process ${b}.events`).attributes).toMatchObject({
      'messaging.destination.name': 'events',
      'messaging.destination.subscription.name': `${b}.events`,
      'messaging.message.conversation_id': 'conv-t',
    })
    for (const span of spans) expect(span.status.code).toBe(SpanStatusCode.UNSET)
    // What B received: the context of A's publish, after eventail's own header.
    const publish = named('publish events').spanContext()
    expect(seenByB).toEqual([{ traceparent: `00-${publish.traceId}-${publish.spanId}-01` }])
  })

  it('puts traceparent after status and conversation_id on a result', async () => {
    const bus = await peer()
    const results = await spy(bus, 'commands', 'trace-result.*')
    const client = await run((o) => new Traced(uniqueName('trace-client'), {}, o))
    await tracer.startActiveSpan('root', async (root) => {
      await client.returnSuccess('trace-result.Done', { ok: true }, { conversationId: 'conv-r', correlationId: 'c1' })
      root.end()
    })
    const message = await results.nth(1)
    expect(Object.entries(message.headers)).toEqual([
      ['status', 'success'],
      ['conversation_id', 'conv-r'],
      ['traceparent', expect.stringMatching(TRACEPARENT)],
    ])
    expect(message.headers.traceparent).toContain(named('publish commands').spanContext().spanId)
  })

  it('records the exception and an error status when a handler throws', async () => {
    const a = uniqueName('trace-fail')
    cleanupQueues(a)
    await run((o) => new Traced(a, { events: { [`${a}-Boom`]: () => Promise.reject(new Error('boom')) } }, o))
    const client = await run((o) => new Traced(uniqueName('trace-client'), {}, o))
    await client.publishEvent(`${a}-Boom`, {}, { conversationId: 'conv-f' })
    // Requeued once, then dead-lettered: two deliveries, two failed spans.
    await waitFor(
      () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length >= 2,
      10_000,
      'two process spans',
    )
    const processed = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER)
    for (const span of processed) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' })
      expect(span.attributes['error.type']).toBe('Error')
      expect(span.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([['exception', 'boom']])
    }
  })

  it('marks the process span of a refused (undecodable) message failed, with the reason', async () => {
    const a = uniqueName('trace-poison')
    cleanupQueues(a)
    await run((o) => new Traced(a, { events: { [`${a}-Thing`]: () => undefined } }, o))
    const bus = await peer()
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    await send(
      bus,
      'events',
      `${a}-Thing`,
      undefined,
      {
        contentType: 'application/cbor',
        headers: { conversation_id: 'conv-p', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        persistent: true,
      },
      Buffer.from([0xff, 0x00]),
    )
    await waitFor(
      () => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER),
      10_000,
      'the process span',
    )
    const [span, ...others] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER)
    expect(others).toEqual([])
    expect(span?.spanContext().traceId).toBe(traceId)
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7')
    expect(span?.status.code).toBe(SpanStatusCode.ERROR)
    expect(span?.status.message).toMatch(/decod|CBOR/i)
    expect(span?.attributes['error.type']).toBe('MESSAGE_REFUSED')
  })

  it('ends a publish span with an error status when the publish is returned', async () => {
    const client = await run((o) => new Traced(uniqueName('trace-client'), {}, o))
    const nobody = uniqueName('nobody')
    await expect(
      client.sendCommand(`${nobody}.Do`, {}, { conversationId: 'conv-u', replyTo: `${nobody}.Done` }),
    ).rejects.toMatchObject({ code: 'PUBLISH_RETURNED' })
    const span = named('publish commands')
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
    expect(span.attributes['error.type']).toBe('PUBLISH_RETURNED')
  })

  it('adds no header and records no span with tracing off', async () => {
    const a = uniqueName('trace-off')
    cleanupQueues(a)
    const bus = await peer()
    const events = await spy(bus, 'events', `${a}.*`)
    const handled: Array<Readonly<Record<string, unknown>>> = []
    await run(
      (o) =>
        new Traced(
          a,
          {
            events: {
              [`${a}.In`]: (payload, ctx) => {
                handled.push(ctx.headers)
                void ctx.publishEvent(`${a}.Out`, payload)
              },
            },
          },
          o,
        ),
      { tracing: false },
    )
    const client = await run((o) => new Traced(uniqueName('trace-client'), {}, o), { tracing: false })
    await tracer.startActiveSpan('root', async (root) => {
      await client.publishEvent(`${a}.In`, { n: 1 }, { conversationId: 'conv-o' })
      root.end()
    })
    await events.nth(2)
    expect(events.messages.map((m) => [m.routingKey, m.headers])).toEqual([
      [`${a}.In`, { conversation_id: 'conv-o' }],
      [`${a}.Out`, { conversation_id: 'conv-o' }],
    ])
    expect(handled).toEqual([{}])
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['root'])
  })
})

describe('tracing with a Python eventail-style peer', () => {
  it('is invisible to eventail consumers and starts a new trace for untraced messages', async () => {
    const name = uniqueName('trace-py')
    cleanupQueues(name)
    await run(
      (o) =>
        new Traced(
          name,
          {
            commands: {
              [`${name}.Echo`]: (payload, ctx) => {
                ctx.log('NOTICE', 'echoing')
                void ctx.returnSuccess({ echo: payload })
              },
            },
            events: {
              [`${name}-Asked`]: (payload, ctx) => {
                void ctx.publishEvent(`${name}-Answered`, { answer: (payload as { question: number }).question })
              },
            },
          },
          o,
        ),
    )
    const out = JSON.parse(await runPython(peerScript, ['client', url, name]))

    const traceparent = expect.stringMatching(TRACEPARENT)
    const absentProperties = { timestamp: null, expiration: null, user_id: null, app_id: null }
    expect(out.result.headers).toEqual([
      ['status', 'success'],
      ['conversation_id', 'py-conv-1'],
      ['traceparent', traceparent],
    ])
    expect(out.result_call).toEqual({
      handler: 'handle_result',
      key: expect.stringMatching(/^pypeer-.*\.EchoReturn$/),
      payload: { echo: { text: 'héllo ☃', at: 1732800000000, f: 1.5, raw: { bytes: '00ff' } } },
      conversation_id: 'py-conv-1',
      status: 'success',
      correlation_id: 'py-corr-1',
      meta: { traceparent, ...absentProperties, delivery_tag: expect.any(Number) },
    })
    expect(out.event_call).toEqual({
      handler: 'handle_event',
      event: `${name}-Answered`,
      payload: { answer: 42 },
      conversation_id: 'py-conv-2',
      meta: { traceparent, ...absentProperties, delivery_tag: expect.any(Number) },
    })

    // Python sent no trace context: each message starts its own trace, our replies continue it.
    await waitFor(() => exporter.getFinishedSpans().length >= 4, 10_000, 'four spans')
    const spans = exporter.getFinishedSpans()
    const commandTrace = named(`process ${name}.commands`).spanContext().traceId
    const eventTrace = named(`process ${name}.events`).spanContext().traceId
    expect(commandTrace).not.toBe(eventTrace)
    expect(chain(spans.filter((s) => s.spanContext().traceId === commandTrace))).toEqual([
      [`process ${name}.commands`, SpanKind.CONSUMER, undefined],
      ['publish commands', SpanKind.PRODUCER, `process ${name}.commands`],
    ])
    expect(chain(spans.filter((s) => s.spanContext().traceId === eventTrace))).toEqual([
      [`process ${name}.events`, SpanKind.CONSUMER, undefined],
      ['publish events', SpanKind.PRODUCER, `process ${name}.events`],
    ])
    const result = named('publish commands').spanContext()
    expect(out.result.headers[2][1]).toBe(`00-${result.traceId}-${result.spanId}-01`)
  })
})
