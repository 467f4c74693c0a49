// The bus behaviour services rely on, written once against a "bus under test" and run on the
// in-memory broker and on RabbitMQ with the same assertions (memory.test.ts, rabbitmq.test.ts).
// A behaviour that differs is a bug in the in-memory broker.
import {
  type ConsumeOptions,
  type Delivery,
  defineTopology,
  type ExchangeSpec,
  PublishError,
  type ReturnedMessage,
  type SupervisorLike,
  TopologyError,
} from '@am/bus-core'
import { decode, encode } from '@am/codec'
import { isAmError } from '@am/errors'
import { commandProperties, eventProperties, type Handlers, Service, type ServiceOptions } from '@am/service'
import { waitFor } from '@am/testkit'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { BusFactory, BusUnderTest } from './bus.js'

/** Deliveries received by one consumer, acked or not as the test decides. */
interface Inbox {
  deliveries: Delivery[]
  bodies(): string[]
  nth(n: number): Promise<Delivery>
  /**
   * Sends a marker to the queue through the default exchange and waits for it: a queue delivers
   * in order, so whatever reached the queue before the marker has been delivered by then. The
   * marker is not kept in `deliveries`.
   */
  settle(): Promise<void>
}

const MARKER = '\u0000settled'

async function inbox(
  bus: SupervisorLike,
  queue: string,
  options: ConsumeOptions & { autoAck?: boolean } = {},
): Promise<Inbox> {
  const { autoAck = false, ...consumeOptions } = options
  const deliveries: Delivery[] = []
  let markers = 0
  await bus.consume(
    queue,
    (delivery) => {
      if (delivery.body.toString() === MARKER) {
        markers += 1
        if (!consumeOptions.noAck) delivery.ack()
        return
      }
      deliveries.push(delivery)
      if (autoAck) delivery.ack()
    },
    consumeOptions,
  )
  return {
    deliveries,
    bodies: () => deliveries.map((d) => d.body.toString()),
    nth: async (n) => {
      await waitFor(() => deliveries.length >= n, 10_000, `delivery #${n} on ${queue}`)
      return deliveries[n - 1] as Delivery
    },
    settle: async () => {
      const before = markers
      await bus.publish('', bus.queueName(queue) ?? queue, Buffer.from(MARKER))
      await waitFor(() => markers > before, 10_000, `the marker on ${queue}`)
    },
  }
}

/** An exchange that goes away with its last binding (the exclusive test queues take it along). */
function exchange(name: string, type: ExchangeSpec['type'] = 'topic'): ExchangeSpec {
  return { name, type, durable: false, autoDelete: true }
}

function events(bus: SupervisorLike): Array<[string, unknown]> {
  const seen: Array<[string, unknown]> = []
  for (const name of ['connected', 'disconnected', 'reconnecting', 'failed', 'closed'] as const) {
    bus.on(name, (...args: unknown[]) => seen.push([name, args[0]]))
  }
  return seen
}

export function describeConformance(title: string, make: BusFactory): void {
  describe(`bus conformance: ${title}`, () => {
    describe('routing', () => {
      it('routes topic keys: * is one word, # is zero or more, and a queue gets one copy per message', async () => {
        const b = make()
        const x = b.unique('cx')
        const patterns = { a1: 'a.*', a2: 'a.#', all: '#', exact: 'a.b.c', mid: '*.b.#' }
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x)],
            queues: Object.keys(patterns).map((key) => ({ key, name: '' })),
            bindings: [
              ...Object.entries(patterns).map(([queue, routingKey]) => ({ queue, exchange: x, routingKey })),
              // several bindings matching the same message: still one copy
              { queue: 'all', exchange: x, routingKey: 'a.#' },
              { queue: 'all', exchange: x, routingKey: '*.b' },
            ],
          }),
        })
        await bus.ready()
        const boxes = Object.fromEntries(
          await Promise.all(Object.keys(patterns).map(async (key) => [key, await inbox(bus, key, { noAck: true })])),
        ) as Record<keyof typeof patterns, Inbox>
        for (const key of ['a', 'a.b', 'a.b.c', 'x.b', 'b']) await bus.publish(x, key, Buffer.from(key))
        await Promise.all(Object.values(boxes).map((box) => box.settle()))
        expect(Object.fromEntries(Object.entries(boxes).map(([key, box]) => [key, box.bodies()]))).toEqual({
          a1: ['a.b'],
          a2: ['a', 'a.b', 'a.b.c'],
          all: ['a', 'a.b', 'a.b.c', 'x.b', 'b'],
          exact: ['a.b.c'],
          mid: ['a.b', 'a.b.c', 'x.b'],
        })
      })

      it('routes direct and fanout exchanges, and the default exchange by queue name', async () => {
        const b = make()
        const direct = b.unique('cdirect')
        const fanout = b.unique('cfanout')
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(direct, 'direct'), exchange(fanout, 'fanout')],
            queues: [
              { key: 'd', name: '' },
              { key: 'f', name: '' },
            ],
            bindings: [
              { queue: 'd', exchange: direct, routingKey: 'k' },
              { queue: 'f', exchange: fanout, routingKey: 'ignored' },
            ],
          }),
        })
        await bus.ready()
        const d = await inbox(bus, 'd', { noAck: true })
        const f = await inbox(bus, 'f', { noAck: true })
        await bus.publish(direct, 'k.x', Buffer.from('direct-miss'))
        await bus.publish(direct, 'k', Buffer.from('direct-hit'))
        await bus.publish(fanout, 'anything', Buffer.from('fanout'))
        await bus.publish('', bus.queueName('d') as string, Buffer.from('default'))
        await Promise.all([d.settle(), f.settle()])
        expect({
          d: d.deliveries.map((m) => [
            m.body.toString(),
            m.exchange,
            m.routingKey === bus.queueName('d') ? 'queue name' : m.routingKey,
          ]),
          f: f.bodies(),
        }).toEqual({
          d: [
            ['direct-hit', direct, 'k'],
            ['default', '', 'queue name'],
          ],
          f: ['fanout'],
        })
      })
    })

    describe('consumers', () => {
      it('shares a queue round-robin between its consumers', async () => {
        const b = make()
        const x = b.unique('cx')
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x)],
            queues: [{ key: 'q', name: '' }],
            bindings: [{ queue: 'q', exchange: x, routingKey: 'rr' }],
          }),
        })
        await bus.ready()
        const order: string[] = []
        const one = await inbox(bus, 'q', { prefetch: 10 })
        const two = await inbox(bus, 'q', { prefetch: 10 })
        for (let i = 1; i <= 6; i++) await bus.publish(x, 'rr', Buffer.from(String(i)))
        await waitFor(() => one.deliveries.length + two.deliveries.length === 6)
        for (const d of [...one.deliveries, ...two.deliveries].sort((p, q) => Number(p.body) - Number(q.body))) {
          order.push(one.deliveries.includes(d) ? 'one' : 'two')
        }
        expect({ one: one.deliveries.length, two: two.deliveries.length }).toEqual({ one: 3, two: 3 })
        expect(order.every((who, i) => i === 0 || who !== order[i - 1])).toBe(true)
      })

      it('gives a consumer no more unacked deliveries than its prefetch, the next one after an ack', async () => {
        const b = make()
        const x = b.unique('cx')
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x)],
            queues: [{ key: 'q', name: '' }],
            bindings: [{ queue: 'q', exchange: x, routingKey: 'p' }],
          }),
        })
        await bus.ready()
        const box = await inbox(bus, 'q', { prefetch: 2 })
        for (let i = 1; i <= 5; i++) await bus.publish(x, 'p', Buffer.from(String(i)))
        // the broker holds the others back in the queue
        const counts = (ready: number, unacked: number) => async () => {
          const now = await b.queueCounts(bus.queueName('q') as string)
          return now.ready === ready && now.unacked === unacked
        }
        await box.nth(2)
        await waitFor(counts(3, 2), 10_000, 'two messages out, three held back')
        const held = box.bodies()
        box.deliveries[0]?.ack()
        await box.nth(3)
        await waitFor(counts(2, 2), 10_000, 'two messages out, two held back')
        expect({ held, afterOneAck: box.bodies(), stats: bus.stats().unsettled }).toEqual({
          held: ['1', '2'],
          afterOneAck: ['1', '2', '3'],
          stats: 2,
        })
      })

      it('redelivers a requeued message (redelivered set) before the messages behind it', async () => {
        const b = make()
        const x = b.unique('cx')
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x)],
            queues: [{ key: 'q', name: '' }],
            bindings: [{ queue: 'q', exchange: x, routingKey: 'r' }],
          }),
        })
        await bus.ready()
        const box = await inbox(bus, 'q', { prefetch: 2 })
        for (let i = 1; i <= 4; i++) await bus.publish(x, 'r', Buffer.from(String(i)))
        await box.nth(2)
        const [first, second] = box.deliveries as [Delivery, Delivery]
        expect([first.nack(true), first.nack(true), first.ack()]).toEqual([true, false, false])
        const again = await box.nth(3)
        second.ack()
        again.ack()
        await box.nth(5)
        for (const d of box.deliveries.slice(3)) d.ack()
        expect(box.deliveries.map((d) => [d.body.toString(), d.redelivered])).toEqual([
          ['1', false],
          ['2', false],
          ['1', true],
          ['3', false],
          ['4', false],
        ])
      })

      it('counts redeliveries in x-delivery-count on a quorum queue', async () => {
        const b = make()
        const queue = b.unique('cquorum')
        b.deleteAfter(queue)
        const bus = b.connect({
          topology: defineTopology({
            queues: [{ key: 'q', name: queue, durable: true, arguments: { 'x-queue-type': 'quorum' } }],
          }),
        })
        await bus.ready()
        const box = await inbox(bus, 'q', { prefetch: 1 })
        await bus.publish('', queue, Buffer.from('again'))
        ;(await box.nth(1)).nack(true)
        ;(await box.nth(2)).nack(true)
        const third = await box.nth(3)
        third.ack()
        expect(box.deliveries.map((d) => [d.redelivered, d.headers['x-delivery-count']])).toEqual([
          [false, undefined],
          [true, 1],
          [true, 2],
        ])
      })

      it('discards a rejected message when its queue has no dead-letter exchange', async () => {
        const b = make()
        const queue = b.unique('cq')
        b.deleteAfter(queue)
        const bus = b.connect({
          topology: defineTopology({ queues: [{ key: 'q', name: queue, durable: false }] }),
        })
        await bus.ready()
        const box = await inbox(bus, 'q')
        await bus.publish('', queue, Buffer.from('doomed'))
        ;(await box.nth(1)).nack(false)
        // the nack goes out before the marker: a requeued message would come back before it
        await box.settle()
        expect({ count: await b.messageCount(queue), deliveries: box.deliveries.length }).toEqual({
          count: 0,
          deliveries: 1,
        })
      })

      it('removes an autoDelete queue with its last consumer', async () => {
        const b = make()
        const queue = b.unique('cauto')
        const bus = b.connect({
          topology: defineTopology({ queues: [{ key: 'q', name: queue, durable: false, autoDelete: true }] }),
        })
        await bus.ready()
        const consumer = await bus.consume('q', (d) => d.ack())
        const before = await b.queueExists(queue)
        await consumer.cancel()
        // the broker deletes it once the cancel is handled
        await waitFor(async () => !(await b.queueExists(queue)), 10_000, 'the queue to go')
        expect(before).toBe(true)
      })
    })

    describe('dead-lettering', () => {
      async function deadLetterSetup(b: BusUnderTest, how: 'argument' | 'policy') {
        const x = b.unique('cx')
        const dlx = b.unique('cdlx')
        const queue = b.unique('cdl')
        b.deleteAfter(queue)
        if (how === 'policy') await b.setDeadLetterPolicy(`^${queue}$`, dlx)
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x), exchange(dlx)],
            queues: [
              {
                key: 'src',
                name: queue,
                durable: false,
                ...(how === 'argument' ? { arguments: { 'x-dead-letter-exchange': dlx } } : {}),
              },
              { key: 'dead', name: '' },
            ],
            bindings: [
              { queue: 'src', exchange: x, routingKey: 'order.*' },
              { queue: 'dead', exchange: dlx, routingKey: '#' },
            ],
          }),
        })
        await bus.ready()
        return { bus, x, dlx, queue }
      }

      for (const how of ['argument', 'policy'] as const) {
        it(`dead-letters a rejected message through the queue's ${how}, with x-death and the original properties`, async () => {
          const b = make()
          const { bus, x, dlx, queue } = await deadLetterSetup(b, how)
          const src = await inbox(bus, 'src')
          const dead = await inbox(bus, 'dead', { autoAck: true })
          await bus.publish(x, 'order.placed', Buffer.from('body'), {
            persistent: true,
            contentType: 'application/cbor',
            correlationId: 'corr',
            replyTo: 'reply.key',
            headers: { conversation_id: 'conv-1', zz: 1, aa: 'x' },
          })
          const before = Math.floor(Date.now() / 1000)
          ;(await src.nth(1)).nack(false)
          const letter = await dead.nth(1)
          const death = (letter.headers['x-death'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>
          const time = death.time as { '!': string; value: number }
          expect({
            exchange: letter.exchange,
            routingKey: letter.routingKey,
            redelivered: letter.redelivered,
            body: letter.body.toString(),
            properties: { ...letter.properties, headers: undefined },
            headerKeys: Object.keys(letter.headers),
            headers: { ...letter.headers, 'x-death': undefined },
            death: { ...death, time: undefined },
            time: time['!'] === 'timestamp' && Math.abs(time.value - before) <= 2,
          }).toEqual({
            exchange: dlx,
            routingKey: 'order.placed',
            redelivered: false,
            body: 'body',
            properties: {
              contentType: 'application/cbor',
              contentEncoding: undefined,
              headers: undefined,
              deliveryMode: 2,
              priority: undefined,
              correlationId: 'corr',
              replyTo: 'reply.key',
              expiration: undefined,
              messageId: undefined,
              timestamp: undefined,
              type: undefined,
              userId: undefined,
              appId: undefined,
              clusterId: undefined,
            },
            // RabbitMQ sorts the headers table when it dead-letters
            headerKeys: [
              'aa',
              'conversation_id',
              'x-death',
              'x-first-death-exchange',
              'x-first-death-queue',
              'x-first-death-reason',
              'zz',
            ],
            headers: {
              aa: 'x',
              conversation_id: 'conv-1',
              zz: 1,
              'x-death': undefined,
              'x-first-death-exchange': x,
              'x-first-death-queue': queue,
              'x-first-death-reason': 'rejected',
            },
            death: {
              count: 1,
              reason: 'rejected',
              queue,
              time: undefined,
              exchange: x,
              'routing-keys': ['order.placed'],
            },
            time: true,
          })
        })
      }

      it('counts a second death in the same queue in the same x-death entry', async () => {
        const b = make()
        const { bus, x, queue } = await deadLetterSetup(b, 'argument')
        const src = await inbox(bus, 'src')
        const dead = await inbox(bus, 'dead', { autoAck: true })
        await bus.publish(x, 'order.placed', Buffer.from('twice'), { headers: { conversation_id: 'c' } })
        ;(await src.nth(1)).nack(false)
        const first = await dead.nth(1)
        // resurrected to the queue it died in (default exchange), and rejected again
        await bus.publish('', queue, first.body, { headers: first.headers, persistent: true })
        ;(await src.nth(2)).nack(false)
        const second = await dead.nth(2)
        const deaths = second.headers['x-death'] as Array<Record<string, unknown>>
        expect({
          routingKey: second.routingKey,
          deaths: deaths.map((d) => ({ ...d, time: undefined })),
          keys: Object.keys(deaths[0] as object),
          first: [second.headers['x-first-death-exchange'], second.headers['x-first-death-queue']],
        }).toEqual({
          routingKey: queue,
          deaths: [
            { count: 2, exchange: x, queue, reason: 'rejected', 'routing-keys': ['order.placed'], time: undefined },
          ],
          keys: ['count', 'exchange', 'queue', 'reason', 'routing-keys', 'time'],
          first: [x, queue],
        })
      })

      it("dead-letters with the queue's x-dead-letter-routing-key instead of the original key", async () => {
        const b = make()
        const x = b.unique('cx')
        const dlx = b.unique('cdlx')
        const queue = b.unique('cdlrk')
        b.deleteAfter(queue)
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x), exchange(dlx)],
            queues: [
              {
                key: 'src',
                name: queue,
                durable: false,
                arguments: { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'parked' },
              },
              { key: 'dead', name: '' },
            ],
            bindings: [
              { queue: 'src', exchange: x, routingKey: 'm' },
              { queue: 'dead', exchange: dlx, routingKey: 'parked' },
            ],
          }),
        })
        await bus.ready()
        const src = await inbox(bus, 'src')
        const dead = await inbox(bus, 'dead', { autoAck: true })
        await bus.publish(x, 'm', Buffer.from('x'))
        ;(await src.nth(1)).nack(false)
        const letter = await dead.nth(1)
        const death = (letter.headers['x-death'] as Array<Record<string, unknown>>)[0]
        expect([letter.routingKey, death?.['routing-keys']]).toEqual(['parked', ['m']])
      })

      it('expires messages after the queue x-message-ttl back into a queue through the default exchange (a wait queue)', async () => {
        const b = make()
        const x = b.unique('cx')
        const wait = b.unique('cwait')
        const target = b.unique('ctarget')
        b.deleteAfter(wait)
        b.deleteAfter(target)
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x, 'fanout')],
            queues: [
              {
                key: 'wait',
                name: wait,
                durable: false,
                arguments: { 'x-message-ttl': 150, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': target },
              },
              { key: 'target', name: target, durable: false },
            ],
            bindings: [{ queue: 'wait', exchange: x, routingKey: '' }],
          }),
        })
        await bus.ready()
        const back = await inbox(bus, 'target', { autoAck: true })
        const sent = performance.now()
        for (const body of ['1', '2']) await bus.publish(x, 'Original.Key', Buffer.from(body), { headers: { h: 'v' } })
        const first = await back.nth(1)
        const waited = performance.now() - sent
        await back.nth(2)
        const death = (first.headers['x-death'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>
        expect({
          bodies: back.bodies(),
          waited: waited >= 140,
          delivered: [first.exchange, first.routingKey],
          death: [death.count, death.reason, death.queue, death.exchange, death['routing-keys']],
          first: [first.headers['x-first-death-reason'], first.headers['x-first-death-queue']],
          header: first.headers.h,
          left: await b.messageCount(wait),
        }).toEqual({
          bodies: ['1', '2'],
          waited: true,
          delivered: ['', target],
          death: [1, 'expired', wait, x, ['Original.Key']],
          first: ['expired', wait],
          header: 'v',
          left: 0,
        })
      })

      it('dead-letters the oldest message of a full queue (x-max-length) with reason maxlen', async () => {
        const b = make()
        const x = b.unique('cx')
        const dlx = b.unique('cdlx')
        const queue = b.unique('cmax')
        b.deleteAfter(queue)
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x), exchange(dlx)],
            queues: [
              {
                key: 'src',
                name: queue,
                durable: false,
                arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': dlx },
              },
              { key: 'dead', name: '' },
            ],
            bindings: [
              { queue: 'src', exchange: x, routingKey: 'm' },
              { queue: 'dead', exchange: dlx, routingKey: '#' },
            ],
          }),
        })
        await bus.ready()
        const dead = await inbox(bus, 'dead', { autoAck: true })
        for (const body of ['1', '2', '3']) await bus.publish(x, 'm', Buffer.from(body))
        const letter = await dead.nth(1)
        expect({
          body: letter.body.toString(),
          reason: letter.headers['x-first-death-reason'],
          left: await b.messageCount(queue),
        }).toEqual({ body: '1', reason: 'maxlen', left: 2 })
      })
    })

    describe('publishing', () => {
      it('resolves a publish on the broker confirm, and rejects a nacked one (reject-publish overflow) with PUBLISH_NACKED', async () => {
        const b = make()
        const x = b.unique('cx')
        const queue = b.unique('cfull')
        b.deleteAfter(queue)
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [exchange(x)],
            queues: [
              {
                key: 'q',
                name: queue,
                durable: false,
                arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
              },
            ],
            bindings: [{ queue: 'q', exchange: x, routingKey: 'n' }],
          }),
        })
        await bus.ready()
        const first = await bus.publish(x, 'n', Buffer.from('fits')).then(() => 'confirmed')
        const second = await bus.publish(x, 'n', Buffer.from('overflows')).catch((e: unknown) => e)
        expect({
          first,
          code: (second as PublishError).code,
          isPublishError: second instanceof PublishError,
          unconfirmed: bus.stats().unconfirmed,
          left: await b.messageCount(queue),
        }).toEqual({ first: 'confirmed', code: 'PUBLISH_NACKED', isPublishError: true, unconfirmed: 0, left: 1 })
      })

      it('returns an unroutable mandatory publish (PUBLISH_RETURNED, NO_ROUTE) and drops a non-mandatory one', async () => {
        const b = make()
        const x = b.unique('cx')
        const bus = b.connect({ topology: defineTopology({ exchanges: [{ name: x, type: 'topic', durable: false }] }) })
        b.deleteExchangeAfter(x)
        await bus.ready()
        const returnedEvents: ReturnedMessage[] = []
        bus.on('returned', (m) => returnedEvents.push(m))
        const dropped = await bus.publish(x, 'nobody.home', Buffer.from('lost')).then(() => 'confirmed')
        const error = (await bus
          .publish(x, 'nobody.home', Buffer.from('back'), { mandatory: true, headers: { h: 1 }, persistent: true })
          .catch((e: unknown) => e)) as PublishError
        expect({
          dropped,
          code: error.code,
          returned: error.returned && {
            ...error.returned,
            body: error.returned.body.toString(),
            properties: {
              headers: error.returned.properties.headers,
              deliveryMode: error.returned.properties.deliveryMode,
            },
          },
          events: returnedEvents.length,
        }).toEqual({
          dropped: 'confirmed',
          code: 'PUBLISH_RETURNED',
          returned: {
            exchange: x,
            routingKey: 'nobody.home',
            replyCode: 312,
            replyText: 'NO_ROUTE',
            body: 'back',
            properties: { headers: { h: 1 }, deliveryMode: 2 },
          },
          events: 1,
        })
      })

      it('delivers every property as published: persistent flag, ids, and headers of every AMQP type', async () => {
        const b = make()
        const bus = b.connect({ topology: defineTopology({ queues: [{ key: 'q', name: '' }] }) })
        await bus.ready()
        const box = await inbox(bus, 'q', { noAck: true })
        const queue = bus.queueName('q') as string
        await bus.publish('', queue, Buffer.from('p'), {
          persistent: true,
          contentType: 'application/json',
          contentEncoding: 'identity',
          priority: 3,
          correlationId: 'corr-1',
          replyTo: 'svc.Reply',
          expiration: 600000,
          messageId: 'm-1',
          timestamp: 1_700_000_000,
          type: 'kind',
          appId: 'app',
          headers: {
            s: 'text',
            small: 1,
            medium: 1000,
            int: 100000,
            big: 2 ** 40,
            negative: -5,
            float: 1.5,
            yes: true,
            nothing: null,
            skipped: undefined,
            list: [1, 'two', [3]],
            table: { nested: { deeper: 'x' } },
            bytes: Buffer.from('bin'),
            when: { '!': 'timestamp', value: 1_700_000_000 },
            explicit: { '!': 'long', value: 7 },
          },
        })
        await bus.publish('', queue, Buffer.from('bare'))
        await waitFor(() => box.deliveries.length === 2)
        const [full, bare] = box.deliveries as [Delivery, Delivery]
        expect({ full: full.properties, bare: bare.properties }).toEqual({
          full: {
            contentType: 'application/json',
            contentEncoding: 'identity',
            headers: {
              s: 'text',
              small: 1,
              medium: 1000,
              int: 100000,
              big: 2 ** 40,
              negative: -5,
              float: 1.5,
              yes: true,
              nothing: null,
              list: [1, 'two', [3]],
              table: { nested: { deeper: 'x' } },
              bytes: Buffer.from('bin'),
              when: { '!': 'timestamp', value: 1_700_000_000 },
              explicit: 7,
            },
            deliveryMode: 2,
            priority: 3,
            correlationId: 'corr-1',
            replyTo: 'svc.Reply',
            expiration: '600000',
            messageId: 'm-1',
            timestamp: 1_700_000_000,
            type: 'kind',
            userId: undefined,
            appId: 'app',
            clusterId: undefined,
          },
          bare: {
            contentType: undefined,
            contentEncoding: undefined,
            headers: {},
            deliveryMode: undefined,
            priority: undefined,
            correlationId: undefined,
            replyTo: undefined,
            expiration: undefined,
            messageId: undefined,
            timestamp: undefined,
            type: undefined,
            userId: undefined,
            appId: undefined,
            clusterId: undefined,
          },
        })
        expect(Object.keys(full.headers)).toEqual([
          's',
          'small',
          'medium',
          'int',
          'big',
          'negative',
          'float',
          'yes',
          'nothing',
          'list',
          'table',
          'bytes',
          'when',
          'explicit',
        ])
      })

      it('rejects a publish to a missing exchange with PUBLISH_CHANNEL_CLOSED and opens the connection again', async () => {
        const b = make()
        const bus = b.connect({ topology: defineTopology({ queues: [{ key: 'q', name: '' }] }) })
        await bus.ready()
        const seen = events(bus)
        const error = (await bus
          .publish(b.unique('nowhere'), 'k', Buffer.from('x'))
          .catch((e: unknown) => e)) as PublishError
        await waitFor(() => seen.some(([name]) => name === 'connected'), 10_000, 'the new connection')
        expect({ code: error.code, kinds: seen.map(([name]) => name), generation: bus.generation }).toEqual({
          code: 'PUBLISH_CHANNEL_CLOSED',
          kinds: ['disconnected', 'reconnecting', 'connected'],
          generation: 2,
        })
        // and it works again
        await bus.publish('', bus.queueName('q') as string, Buffer.from('ok'))
      })

      it('waits in close() for the confirms of the publishes in flight', async () => {
        const b = make()
        const queue = b.unique('cclose')
        b.deleteAfter(queue)
        const bus = b.connect({ topology: defineTopology({ queues: [{ key: 'q', name: queue, durable: false }] }) })
        await bus.ready()
        const results: string[] = []
        const publishes = [1, 2, 3].map((n) =>
          bus.publish('', queue, Buffer.from(String(n))).then(
            () => results.push(`${n} confirmed`),
            (e: Error) => results.push(`${n} ${e.message}`),
          ),
        )
        await bus.close()
        await Promise.all(publishes)
        expect({ results, state: bus.state, count: await b.messageCount(queue) }).toEqual({
          results: ['1 confirmed', '2 confirmed', '3 confirmed'],
          state: 'closed',
          count: 3,
        })
      })
    })

    describe('topology', () => {
      it('names exclusive server-named queues amq.gen-…, locks them to their connection and deletes them with it', async () => {
        const b = make()
        const name = b.unique('cowner')
        const owner = b.connect({ name, topology: defineTopology({ queues: [{ key: 'mine', name: '' }] }) })
        await owner.ready()
        const queue = owner.queueName('mine') as string
        const other = b.connect()
        await other.ready()
        const locked = (await other.consume(queue, () => undefined).catch((e: unknown) => e)) as TopologyError
        const existed = await b.queueExists(queue)
        await owner.close()
        await waitFor(
          async () => !(await b.queueExists(queue)),
          10_000,
          'the exclusive queue to go with its connection',
        )
        expect({
          name: /^amq\.gen-[A-Za-z0-9_-]{22}$/.test(queue),
          lockedCode: locked.code,
          existed,
          afterClose: await b.queueExists(queue),
        }).toEqual({ name: true, lockedCode: 'TOPOLOGY_RESOURCE_LOCKED', existed: true, afterClose: false })
      })

      it('fails with TOPOLOGY_PRECONDITION_FAILED, naming the attribute, when an exchange exists with another type', async () => {
        const b = make()
        const x = b.unique('cclash')
        const first = b.connect({
          topology: defineTopology({ exchanges: [{ name: x, type: 'topic', durable: false }] }),
        })
        await first.ready()
        b.deleteExchangeAfter(x)
        const second = b.connect({
          topology: defineTopology({ exchanges: [{ name: x, type: 'direct', durable: false }] }),
        })
        const seen = events(second)
        const error = (await second.ready().catch((e: unknown) => e)) as TopologyError
        expect({
          isTopologyError: error instanceof TopologyError,
          code: error.code,
          conflict: error.conflict,
          state: second.state,
          events: seen.map(([name]) => name),
          message: error.message.replace(x, '<x>'),
        }).toEqual({
          isTopologyError: true,
          code: 'TOPOLOGY_PRECONDITION_FAILED',
          conflict: { kind: 'exchange', name: x, attribute: 'type', declared: "'direct'", current: "'topic'" },
          state: 'failed',
          events: ['failed'],
          message:
            "exchange '<x>' exists with other attributes: its 'type' is 'topic' on the broker but we declare 'direct'. Delete or fix it on the broker (or change the declaration); retrying cannot help",
        })
      })

      it('fails when a queue exists with other durability or arguments', async () => {
        const b = make()
        const queue = b.unique('cqclash')
        b.deleteAfter(queue)
        const first = b.connect({ topology: defineTopology({ queues: [{ key: 'q', name: queue, durable: false }] }) })
        await first.ready()
        const durable = b.connect({ topology: defineTopology({ queues: [{ key: 'q', name: queue, durable: true }] }) })
        const quorum = b.connect({
          topology: defineTopology({
            queues: [{ key: 'q', name: queue, durable: false, arguments: { 'x-max-length': 5 } }],
          }),
        })
        const errors = await Promise.all([durable.ready(), quorum.ready()].map((p) => p.catch((e: unknown) => e)))
        expect(errors.map((e) => [(e as TopologyError).code, (e as TopologyError).conflict])).toEqual([
          [
            'TOPOLOGY_PRECONDITION_FAILED',
            { kind: 'queue', name: queue, attribute: 'durable', declared: "'true'", current: "'false'" },
          ],
          [
            'TOPOLOGY_PRECONDITION_FAILED',
            {
              kind: 'queue',
              name: queue,
              attribute: 'x-max-length',
              declared: "the value '5' of type 'byte'",
              current: 'none',
            },
          ],
        ])
      })

      it('refuses to consume from a queue that does not exist (TOPOLOGY_NOT_FOUND)', async () => {
        const b = make()
        const bus = b.connect()
        await bus.ready()
        const error = await bus.consume(b.unique('missing'), () => undefined).catch((e: unknown) => e)
        expect([isAmError(error, 'TOPOLOGY_NOT_FOUND'), (error as TopologyError).conflict?.kind]).toEqual([
          true,
          'queue',
        ])
      })

      it('browses a queue with basic.get: acked messages leave, nacked ones are dropped, the rest come back redelivered', async () => {
        const b = make()
        const queue = b.unique('cbrowse')
        b.deleteAfter(queue)
        const bus = b.connect({ topology: defineTopology({ queues: [{ key: 'q', name: queue, durable: false }] }) })
        await bus.ready()
        for (const body of ['one', 'two', 'three']) await bus.publish('', queue, Buffer.from(body))
        const seen = await bus.browse(queue, async (browser) => {
          const got: Array<[string, number, boolean]> = []
          for (let message = await browser.get(); message; message = await browser.get()) {
            const body = message.content.toString()
            got.push([body, message.fields.messageCount, message.fields.redelivered])
            if (body === 'one') browser.ack(message)
            else if (body === 'two') browser.nack(message, false)
          }
          return got
        })
        const again = await bus.browse(queue, async (browser) => {
          const message = await browser.get()
          return [message?.content.toString(), message?.fields.redelivered, await browser.get()]
        })
        expect({ seen, again }).toEqual({
          seen: [
            ['one', 2, false],
            ['two', 1, false],
            ['three', 0, false],
          ],
          again: ['three', true, undefined],
        })
        await expect(bus.browse(b.unique('missing'), (browser) => browser.get())).rejects.toMatchObject({
          code: 'TOPOLOGY_NOT_FOUND',
        })
      })
    })

    describe('connection loss', () => {
      it('redelivers unacked messages, restores consumers on a new generation and ignores stale acks', async () => {
        const b = make()
        const name = b.unique('cdrop')
        const x = b.unique('cx')
        const queue = b.unique('cdropq')
        b.deleteAfter(queue)
        const bus = b.connect({
          name,
          topology: defineTopology({
            exchanges: [exchange(x)],
            queues: [
              { key: 'shared', name: queue, durable: false },
              { key: 'private', name: '' },
            ],
            bindings: [
              { queue: 'shared', exchange: x, routingKey: 'k' },
              { queue: 'private', exchange: x, routingKey: 'k' },
            ],
          }),
        })
        await bus.ready()
        const privateBefore = bus.queueName('private')
        const seen = events(bus)
        const box = await inbox(bus, 'shared', { prefetch: 5 })
        await bus.publish(x, 'k', Buffer.from('1'))
        await bus.publish(x, 'k', Buffer.from('2'))
        await box.nth(2)
        box.deliveries[0]?.ack()
        // the broker has the ack: only the second message is left to redeliver
        await waitFor(async () => (await b.queueCounts(queue)).unacked === 1, 10_000, 'the ack')
        const stale = box.deliveries[1] as Delivery
        await b.dropConnection(name)
        const redelivered = await box.nth(3)
        await bus.publish(x, 'k', Buffer.from('3'))
        const fresh = await box.nth(4)
        expect({
          kinds: seen.map(([kind]) => kind),
          generations: [stale.generation, redelivered.generation, bus.generation],
          staleAck: stale.ack(),
          redelivered: [redelivered.body.toString(), redelivered.redelivered],
          fresh: [fresh.body.toString(), fresh.redelivered],
          renamed: bus.queueName('private') !== privateBefore && /^amq\.gen-/.test(bus.queueName('private') ?? ''),
          oldPrivateGone: !(await b.queueExists(privateBefore as string)),
          state: bus.state,
        }).toEqual({
          kinds: ['disconnected', 'reconnecting', 'connected'],
          generations: [1, 2, 2],
          staleAck: false,
          redelivered: ['2', true],
          fresh: ['3', false],
          renamed: true,
          oldPrivateGone: true,
          state: 'connected',
        })
        redelivered.ack()
        fresh.ack()
        await waitFor(() => bus.stats().unsettled === 0)
        await box.settle()
        expect([await b.messageCount(queue), box.bodies()]).toEqual([0, ['1', '2', '2', '3']])
      })

      it('keeps publishes made while disconnected and sends them once connected again', async () => {
        const b = make()
        const name = b.unique('cbuffer')
        const queue = b.unique('cbufq')
        b.deleteAfter(queue)
        const bus = b.connect({
          name,
          topology: defineTopology({ queues: [{ key: 'q', name: queue, durable: false }] }),
        })
        await bus.ready()
        // Published from the 'disconnected' listener itself: the bus cannot have reconnected yet.
        const down = new Promise<{ buffered: Promise<void>; whileDown: number }>((resolve) =>
          bus.once('disconnected', () => {
            const buffered = bus.publish('', queue, Buffer.from('later'))
            resolve({ buffered, whileDown: bus.stats().buffered })
          }),
        )
        await b.dropConnection(name)
        const { buffered, whileDown } = await down
        await buffered
        expect({ whileDown, count: await b.messageCount(queue), state: bus.state }).toEqual({
          whileDown: 1,
          count: 1,
          state: 'connected',
        })
      })
    })

    describe('a service on this bus', () => {
      /** A service with a command, an event handler that publishes, and one that always fails. */
      class Probe extends Service {
        readonly name: string
        constructor(name: string, options: ServiceOptions) {
          super(options)
          this.name = name
        }

        protected handlers(): Handlers {
          return {
            commands: { [`${this.name}.Echo`]: (payload, ctx) => ctx.returnSuccess({ echo: payload }) },
            events: {
              Happened: (payload, ctx) => ctx.publishEvent(`${this.name}.Reacted`, payload),
              Poison: () => {
                throw new Error('always fails')
              },
            },
          }
        }
      }

      async function startProbe(b: BusUnderTest): Promise<{ probe: Probe; name: string }> {
        const name = b.unique('probe')
        b.deleteAfter(`${name}.events`)
        b.deleteAfter(`${name}.commands`)
        const probe = new Probe(name, { ...b.serviceOptions(), handleSignals: false, stopTimeoutMs: 2_000 })
        onTestFinished(() => probe.stop())
        await probe.start()
        return { probe, name }
      }

      /** A peer with an exclusive queue bound on each (exchange, key). */
      async function peerWith(b: BusUnderTest, spies: Record<string, [string, string]>) {
        const keys = Object.keys(spies)
        const bus = b.connect({
          topology: defineTopology({
            exchanges: [...new Set(Object.values(spies).map(([x]) => x))].map((name) => ({
              name,
              type: 'topic' as const,
              ...(name === 'logs' ? { channel: 'log' as const } : {}),
            })),
            queues: keys.map((key) => ({ key, name: '' })),
            bindings: keys.map((key) => ({
              queue: key,
              exchange: (spies[key] as [string, string])[0],
              routingKey: (spies[key] as [string, string])[1],
            })),
          }),
        })
        await bus.ready()
        const boxes: Record<string, Inbox> = {}
        for (const key of keys) boxes[key] = await inbox(bus, key, { autoAck: true, prefetch: 50 })
        return { bus, boxes }
      }

      it('answers a command with a result: status header first, conversation and correlation kept', async () => {
        const b = make()
        const { name } = await startProbe(b)
        const replyKey = b.unique('probe.Reply')
        const { bus, boxes } = await peerWith(b, { results: ['commands', replyKey] })
        await bus.publish('commands', `${name}.Echo`, encode('hi', 'application/json'), {
          ...commandProperties('conv-1', replyKey, 'corr-1', 'application/json'),
          mandatory: true,
        })
        const result = await (boxes.results as Inbox).nth(1)
        expect({
          headers: Object.entries(result.headers),
          correlationId: result.properties.correlationId,
          payload: decode(result.body, result.properties.contentType as string),
          deliveryMode: result.properties.deliveryMode,
        }).toEqual({
          headers: [
            ['status', 'success'],
            ['conversation_id', 'conv-1'],
          ],
          correlationId: 'corr-1',
          payload: { echo: 'hi' },
          deliveryMode: 2,
        })
      })

      it('retries a failing handler once, then dead-letters the message: ALERT, ALERT, EMERGENCY', async () => {
        const b = make()
        const dlx = b.unique('cdlx')
        const { name } = await startProbe(b)
        const { bus, boxes } = await peerWith(b, { dead: [dlx, '#'], logs: ['logs', `${name}.*`] })
        await b.setDeadLetterPolicy(`^${name}\\.(events|commands)$`, dlx)
        b.deleteExchangeAfter(dlx)
        await bus.publish('events', 'Poison', encode({ n: 1 }, 'application/cbor'), eventProperties('conv-p'))
        const letter = await (boxes.dead as Inbox).nth(1)
        await (boxes.logs as Inbox).nth(3)
        const death = (letter.headers['x-death'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>
        expect({
          levels: (boxes.logs as Inbox).deliveries.map((d) => d.routingKey.slice(name.length + 1)),
          death: [death.count, death.reason, death.queue, death.exchange],
          conversation: letter.headers.conversation_id,
        }).toEqual({
          levels: ['ALERT', 'ALERT', 'EMERGENCY'],
          death: [1, 'rejected', `${name}.events`, 'events'],
          conversation: 'conv-p',
        })
      })

      it('consumes again after its connection drops, and acks what it handles', async () => {
        const b = make()
        const { probe, name } = await startProbe(b)
        const { bus, boxes } = await peerWith(b, { reacted: ['events', `${name}.Reacted`] })
        await b.dropConnection(name)
        await waitFor(
          () => probe.state === 'ready' && (probe.supervisor?.generation ?? 0) >= 2,
          15_000,
          'the probe back',
        )
        await bus.publish('events', 'Happened', encode({ n: 2 }, 'application/cbor'), eventProperties('conv-d'))
        const reacted = await (boxes.reacted as Inbox).nth(1)
        await waitFor(() => probe.stats().gauges.inFlight === 0 && probe.stats().gauges.unsettled === 0)
        expect({
          payload: decode(reacted.body, 'application/cbor'),
          conversation: reacted.headers.conversation_id,
          left: await b.messageCount(`${name}.events`),
        }).toEqual({ payload: { n: 2 }, conversation: 'conv-d', left: 0 })
      })
    })
  })
}
