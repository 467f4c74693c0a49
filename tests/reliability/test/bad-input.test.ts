import type { PublishOptions, SupervisorLike } from '@am/bus-core'
import { decode, encode } from '@am/codec'
import { commandProperties, eventProperties, type Handlers, Service, type ServiceOptions } from '@am/service'
import { uniqueName, waitFor } from '@am/testkit'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cleanupQueues, deadLetters, logSpy, peer, url } from './support/broker.js'
import { Capture, GUEST_PASSWORD } from './support/capture.js'
import { recordFigure } from './support/figures.js'

/** Records every message it handles, by message id. */
class Target extends Service {
  readonly handled = new Map<string, number>()
  readonly handledAt = new Map<string, number>()

  constructor(
    readonly name: string,
    options: ServiceOptions,
  ) {
    super(options)
  }

  protected handlers(): Handlers {
    const record = (_payload: unknown, ctx: { delivery: { properties: { messageId?: string } } }): void => {
      const id = ctx.delivery.properties.messageId ?? '?'
      this.handled.set(id, (this.handled.get(id) ?? 0) + 1)
      this.handledAt.set(id, Date.now())
    }
    return { events: { [`${this.name}-Good`]: record }, commands: { [`${this.name}.Do`]: record } }
  }
}

interface Poison {
  what: string
  exchange?: 'events' | 'commands'
  routingKey?: string
  body: Buffer
  properties?: PublishOptions
}

const MB = 1024 * 1024

function poisons(name: string): Poison[] {
  const json = 'application/json'
  const event = eventProperties('c-poison')
  const cbor = (hex: string): Buffer => Buffer.from(hex, 'hex')
  return [
    { what: 'truncated CBOR', body: cbor('a26161') },
    { what: 'a lone 0xff', body: cbor('ff') },
    { what: 'trailing bytes after a CBOR item', body: cbor('a16161010000') },
    { what: 'JSON labelled as CBOR', body: Buffer.from('{"a": 1}') },
    { what: 'CBOR labelled as JSON', body: encode({ a: 1 }), properties: { ...event, contentType: json } },
    {
      what: 'an unknown content type',
      body: Buffer.from('hello'),
      properties: { ...event, contentType: 'text/plain' },
    },
    { what: 'no content type', body: Buffer.from('{}'), properties: { ...event, contentType: undefined } },
    { what: 'no conversation_id', body: encode(1), properties: { ...event, headers: {} } },
    { what: 'no headers at all', body: encode(1), properties: { ...event, headers: undefined } },
    {
      what: 'a command without reply_to and status',
      exchange: 'commands',
      routingKey: `${name}.Do`,
      body: encode(1),
      properties: commandProperties('c-poison', '', 'corr'),
    },
    { what: 'CBOR nested 10,000 levels', body: Buffer.concat([Buffer.alloc(10_000, 0x81), cbor('00')]) },
    {
      what: 'JSON nested 10,000 levels',
      body: Buffer.from(`${'['.repeat(10_000)}${']'.repeat(10_000)}`),
      properties: { ...event, contentType: json },
    },
    // A 50 MB byte string whose last byte is missing.
    { what: 'a 50 MB body', body: Buffer.concat([cbor('5a03200000'), Buffer.alloc(50 * MB - 1, 0x61)]) },
    { what: 'invalid UTF-8 in a CBOR text', body: cbor('a1616161ff') },
    {
      what: 'invalid UTF-8 in JSON',
      body: Buffer.concat([Buffer.from('{"a":"'), cbor('c328'), Buffer.from('"}')]),
      properties: { ...event, contentType: json },
    },
    {
      what: 'conversation_id as a number',
      body: encode(1),
      properties: { ...event, headers: { conversation_id: 42 } },
    },
    {
      what: 'conversation_id as a table',
      body: encode(1),
      properties: { ...event, headers: { conversation_id: { nested: 'x' } } },
    },
    {
      what: 'conversation_id as an array',
      body: encode(1),
      properties: { ...event, headers: { conversation_id: ['a', 1] } },
    },
    { what: 'conversation_id as void', body: encode(1), properties: { ...event, headers: { conversation_id: null } } },
    {
      what: 'a command with a numeric status and no reply_to',
      exchange: 'commands',
      routingKey: `${name}.Do`,
      body: encode(1),
      properties: { ...commandProperties('c-poison', '', 'corr'), headers: { conversation_id: 'c', status: 7 } },
    },
    { what: 'a routing key without a handler', routingKey: `${name}-Stray`, body: encode(1) },
  ]
}

describe('bad input to a running service', () => {
  it('dead-letters each poison message with one log line, never reconnects, and keeps serving good traffic', async () => {
    const name = uniqueName('rel-bad')
    cleanupQueues(name)
    const capture = new Capture()
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    await using service = new Target(name, {
      urls: url,
      prefetch: 20,
      handleSignals: false,
      logger: capture.logger(name),
    })
    await service.start()
    const supervisor = service.supervisor as SupervisorLike
    // An operator bound an extra key by hand: the service has no handler for it.
    await bus.withChannel(async (channel) => {
      await channel.bindQueue(`${name}.events`, 'events', `${name}-Stray`)
    })
    const good = (id: string): Promise<void> =>
      bus.publish('events', `${name}-Good`, encode({ id }), { ...eventProperties(`c-${id}`), messageId: id })
    const deadIds = (): Map<string, number> => {
      const ids = new Map<string, number>()
      for (const d of dead.messages)
        ids.set(String(d.properties.messageId), (ids.get(String(d.properties.messageId)) ?? 0) + 1)
      return ids
    }
    const burst = async (prefix: string, n: number): Promise<number> => {
      const started = Date.now()
      await Promise.all(Array.from({ length: n }, (_, i) => good(`${prefix}-${i}`)))
      await waitFor(() => service.handled.has(`${prefix}-${n - 1}`) && count(service.handled, prefix) === n, 60_000)
      return Date.now() - started
    }

    const before = await burst('before', 1_000)

    // Each poison message, then at once a good one: measured from its confirm to its handling.
    const cases = poisons(name)
    const latencies: number[] = []
    for (const [i, poison] of cases.entries()) {
      const id = `bad-${i}`
      await bus.publish(poison.exchange ?? 'events', poison.routingKey ?? `${name}-Good`, poison.body, {
        ...(poison.properties ?? eventProperties('c-poison')),
        messageId: id,
      })
      const sent = Date.now()
      await good(`next-${i}`)
      await waitFor(() => service.handled.has(`next-${i}`), 10_000, `the good message after ${poison.what}`)
      latencies.push((service.handledAt.get(`next-${i}`) as number) - sent)
      await waitFor(() => deadIds().has(id), 30_000, `${poison.what} dead-lettered`)
      await waitFor(() => logs.messages.length >= i + 1, 10_000, `the log line of ${poison.what}`)
    }

    // Property-based: random bodies, content types and headers, events and commands, in batches.
    // The oracle decides each one's fate first, by the rules of the wire format, and each must
    // meet exactly that fate, once.
    let fuzzed = 0
    const fuzzDead = new Set<string>()
    await fc.assert(
      fc.asyncProperty(fc.array(fuzzMessage(name), { minLength: 100, maxLength: 100 }), async (batch) => {
        const ids = batch.map(() => `fuzz-${fuzzed++}`)
        await Promise.all(
          batch.map((m, i) =>
            bus.publish(m.exchange, m.routingKey, m.body, { ...m.properties, messageId: ids[i] as string }),
          ),
        )
        await waitFor(
          () => ids.every((id) => service.handled.has(id) || deadIds().has(id)),
          30_000,
          'every fuzzed message handled or dead-lettered',
        )
        const deadNow = deadIds()
        const fate = (id: string): string =>
          `handled ${service.handled.get(id) ?? 0}×, dead-lettered ${deadNow.get(id) ?? 0}×`
        const expected = batch.map((m) =>
          expectedFate(m) === 'handled' ? 'handled 1×, dead-lettered 0×' : 'handled 0×, dead-lettered 1×',
        )
        expect(ids.map(fate)).toEqual(expected)
        for (const id of ids) if (deadNow.has(id)) fuzzDead.add(id)
      }),
      { numRuns: 20, endOnFailure: true },
    )

    const after = await burst('after', 1_000)
    const deadCount = cases.length + fuzzDead.size
    // A last poison message, handled after everything else: once its log line is in, every earlier
    // one is (the service publishes its logs in order on one channel), so the count is final.
    await bus.publish('events', `${name}-Stray`, encode(1), { ...eventProperties('c-last'), messageId: 'last' })
    await waitFor(() => deadIds().has('last'), 30_000, 'the last poison message dead-lettered')
    const lastLog = `No event handler for ${name}-Stray; dead lettering.`
    await waitFor(
      () => logs.messages.length >= deadCount + 1 && logs.logs().at(-1)?.short_message === lastLog,
      10_000,
      'the log line of the last poison message',
    )

    const ids = deadIds()
    const maxLatency = Math.max(...latencies)
    const duplicates = [...service.handled.values()].reduce((extra, n) => extra + n - 1, 0)
    const reconnections = supervisor.stats().reconnections
    // Every message published and confirmed met a fate: handled or dead-lettered.
    const published = [
      ...['before', 'after'].flatMap((prefix) => Array.from({ length: 1_000 }, (_, i) => `${prefix}-${i}`)),
      ...cases.flatMap((_, i) => [`bad-${i}`, `next-${i}`]),
      ...Array.from({ length: fuzzed }, (_, i) => `fuzz-${i}`),
      'last',
    ]
    const lost = published.filter((id) => !service.handled.has(id) && !ids.has(id))
    recordFigure({
      id: '5-bad-input',
      scenario: `bad input: ${cases.length} poison messages, ${fuzzed} fuzzed ones (fast-check), good traffic in between`,
      messages: published.length,
      lost: lost.length,
      duplicates,
      resumeMs: maxLatency,
      notes: `${ids.size} dead-lettered with ${logs.messages.length} log lines (${[...new Set(logs.logs().map((l) => l.levelName))].join(', ')}), ${fuzzed - fuzzDead.size} fuzzed ones handled, each as the oracle (the codec's decode, the header rules) foretold; ${reconnections} reconnections, connection #${supervisor.generation} throughout; 1,000 good events in ${before} ms before, ${after} ms after; resume = longest wait of the good event sent right after each poison one`,
    })
    expect(lost).toEqual([])
    expect(cases.map((c, i) => [c.what, ids.get(`bad-${i}`) ?? 0, service.handled.get(`bad-${i}`) ?? 0])).toEqual(
      cases.map((c) => [c.what, 1, 0]),
    )
    expect(logs.messages).toHaveLength(deadCount + 1)
    expect(ids.size).toBe(deadCount + 1)
    expect(new Set(logs.logs().map((l) => l.levelName))).toEqual(new Set(['EMERGENCY']))
    expect([...service.handled].filter(([, n]) => n > 1)).toEqual([])
    expect(supervisor.generation).toBe(1)
    expect(supervisor.stats().reconnections).toBe(0)
    expect(service.state).toBe('ready')
    expect(capture.lines.filter((line) => / (warn|error) /.test(line))).toEqual([])
    expect(maxLatency).toBeLessThan(2_000)
    expect(after).toBeLessThan(Math.max(3 * before, 2_000))
    expect(capture.find(GUEST_PASSWORD)).toEqual([])
  })
})

function count(map: Map<string, number>, prefix: string): number {
  let n = 0
  for (const key of map.keys()) if (key.startsWith(`${prefix}-`)) n += 1
  return n
}

/**
 * What the service must do with a fuzzed message, decided before it is sent: dead-letter it when
 * its conversation_id header is missing or not a string, when @am/codec cannot decode its body
 * under its content type, or when it is on the commands exchange without reply_to (no reply_to
 * and no status is no valid envelope; a status makes it a result, which the service has no handler
 * for); handle it otherwise.
 */
function expectedFate(m: Fuzzed): 'handled' | 'dead-lettered' {
  const conversation = m.properties.headers?.conversation_id
  if (typeof conversation !== 'string' && !Buffer.isBuffer(conversation)) return 'dead-lettered'
  if (m.body.length > 0) {
    try {
      decode(m.body, m.properties.contentType)
    } catch {
      return 'dead-lettered'
    }
  }
  if (m.exchange === 'commands' && !m.properties.replyTo) return 'dead-lettered'
  return 'handled'
}

interface Fuzzed {
  exchange: 'events' | 'commands'
  routingKey: string
  body: Buffer
  properties: PublishOptions
}

/** Random messages: any bytes or encoded values, any content type, any headers (not `x-…`). */
function fuzzMessage(name: string): fc.Arbitrary<Fuzzed> {
  // amqplib reads a table with a `!` key as a typed field value (`{ '!': 'timestamp', value }`),
  // and the broker acts on `CC`, `BCC` (sender-selected distribution) and `x-…` headers: keep
  // those keys out, they test amqplib and RabbitMQ rather than the service.
  const key = (maxLength: number) =>
    fc.string({ minLength: 1, maxLength }).filter((k) => k !== '!' && k !== 'CC' && k !== 'BCC' && !k.startsWith('x-'))
  const value = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.integer(),
    // amqplib writes integral numbers as 64-bit integers: keep them in range
    fc.double({ min: -1e15, max: 1e15, noNaN: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    fc.dictionary(key(8), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
  )
  const headers = fc.record(
    {
      conversation_id: fc.oneof(fc.string({ maxLength: 12 }), value),
      status: fc.oneof(fc.constantFrom('', 'success', 'error'), value),
      extra: fc.dictionary(key(20), value, { maxKeys: 4 }),
    },
    { requiredKeys: [] },
  )
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => encode(v)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    fc.jsonValue({ maxDepth: 4 }).map((v) => encode(v).subarray(0, -1)),
  )
  const contentType = fc.constantFrom(
    'application/cbor',
    'application/json',
    undefined,
    '',
    'text/plain',
    'application/cbor; x=y',
    'Application/JSON; charset=latin1',
    'application/json; charset=utf-8',
  )
  return fc
    .record({
      kind: fc.constantFrom('event', 'command'),
      body,
      contentType,
      headers,
      replyTo: fc.constantFrom('', `${name}.Reply`),
    })
    .map(({ kind, body, contentType, headers, replyTo }) => {
      const { extra = {}, ...known } = headers
      return {
        exchange: kind === 'event' ? 'events' : 'commands',
        routingKey: kind === 'event' ? `${name}-Good` : `${name}.Do`,
        body,
        properties: {
          contentType,
          headers: { ...extra, ...known },
          deliveryMode: 2,
          correlationId: 'corr',
          replyTo: kind === 'event' ? '' : replyTo,
        },
      }
    })
}
