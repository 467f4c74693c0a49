import { Delivery } from '@am/bus-core'
import { describe, expect, it } from 'vitest'
import { RETRY_HEADERS } from '../src/index.js'
import { attemptsOf, errorsOf, firstLine, Retry } from '../src/retry.js'
import { HandlerTable } from '../src/routing.js'

const noop = { handler: () => undefined, schema: undefined }
const tables = {
  events: new HandlerTable([
    ['Order.Placed', noop],
    ['Order.*', noop],
    ['Audit', noop],
  ]),
  commands: new HandlerTable([['svc.Do', noop]]),
  results: new HandlerTable([['svc.Done', noop]]),
  configurations: new HandlerTable<typeof noop>([]),
}
const settings = { exclusiveQueues: false, queueType: 'classic' as const }

function delivery(queue: string, routingKey: string, headers: Record<string, unknown> = {}, replyTo = ''): Delivery {
  return new Delivery(
    {
      content: Buffer.from('x'),
      fields: { deliveryTag: 1, redelivered: false, exchange: 'events', routingKey, consumerTag: 'c' },
      properties: { headers, replyTo },
    },
    queue,
    undefined,
    1,
  )
}

describe('Retry.create', () => {
  it('declares one wait queue and fanout exchange per service queue and delay, sorted, durable', () => {
    const retry = Retry.create(
      'svc',
      { delaysMs: [5_000, 1_000], handlers: { commands: { 'svc.Do': { delaysMs: [200] } } } },
      tables,
      settings,
    )
    expect(retry?.topology.queues.map((q) => [q.name, q.arguments])).toEqual([
      [
        'svc.events.retry.1000',
        { 'x-message-ttl': 1_000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'svc.events' },
      ],
      [
        'svc.events.retry.5000',
        { 'x-message-ttl': 5_000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'svc.events' },
      ],
      [
        'svc.commands.retry.200',
        { 'x-message-ttl': 200, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'svc.commands' },
      ],
      [
        'svc.commands.retry.1000',
        { 'x-message-ttl': 1_000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'svc.commands' },
      ],
      [
        'svc.commands.retry.5000',
        { 'x-message-ttl': 5_000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'svc.commands' },
      ],
    ])
    expect(retry?.topology.exchanges.map((e) => [e.name, e.type])).toContainEqual(['svc.events.retry.1000', 'fanout'])
    expect(retry?.topology.bindings).toContainEqual({
      queue: 'retry:svc.events.retry.1000',
      exchange: 'svc.events.retry.1000',
      routingKey: '',
    })
  })

  it('asks quorum wait queues for at-least-once dead-lettering', () => {
    const retry = Retry.create('svc', { delaysMs: [1_000] }, tables, { exclusiveQueues: false, queueType: 'quorum' })
    expect(retry?.topology.queues[0]?.arguments).toEqual({
      'x-message-ttl': 1_000,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'svc.events',
      'x-queue-type': 'quorum',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    })
  })

  it('is off without delays, and with exclusive queues', () => {
    expect([
      Retry.create('svc', undefined, tables, settings),
      Retry.create('svc', {}, tables, settings),
      Retry.create('svc', { delaysMs: [] }, tables, settings),
      Retry.create('svc', { delaysMs: [100] }, tables, { exclusiveQueues: true, queueType: 'classic' }),
    ]).toEqual([undefined, undefined, undefined, undefined])
  })
})

describe('Retry.plan', () => {
  const retry = Retry.create(
    'svc',
    { delaysMs: [100, 200], handlers: { events: { Audit: false, 'Order.*': { delaysMs: [50] } } } },
    tables,
    settings,
  ) as Retry

  it('waits in the queue of the next delay, then gives up with the history', () => {
    const error = new Error('down\nstack…')
    expect(retry.plan(delivery('svc.events', 'Order.Placed'), error)).toEqual({
      action: 'wait',
      attempt: 1,
      delayMs: 100,
      queue: 'svc.events.retry.100',
    })
    expect(retry.plan(delivery('svc.events', 'Order.Placed', { [RETRY_HEADERS.attempt]: 1 }), error)).toMatchObject({
      action: 'wait',
      attempt: 2,
      delayMs: 200,
    })
    expect(
      retry.plan(
        delivery('svc.events', 'Order.Placed', {
          [RETRY_HEADERS.attempt]: 2,
          [RETRY_HEADERS.errors]: ['Error: a', Buffer.from('Error: b')],
        }),
        error,
      ),
    ).toEqual({ action: 'give-up', attempts: 3, history: ['Error: a', 'Error: b', 'Error: down'] })
  })

  it('follows the handler table: exact key first, then patterns; false is the requeue-once', () => {
    expect(retry.plan(delivery('svc.events', 'Order.Shipped'), 'x')).toMatchObject({ delayMs: 50 })
    expect(retry.plan(delivery('svc.events', 'Audit'), 'x')).toEqual({ action: 'none' })
  })

  it('tells commands from results on the commands queue, and ignores other queues', () => {
    expect(retry.plan(delivery('svc.commands', 'svc.Do', {}, 'caller.Done'), 'x')).toMatchObject({
      queue: 'svc.commands.retry.100',
    })
    expect(retry.plan(delivery('svc.commands', 'svc.Done'), 'x')).toMatchObject({ queue: 'svc.commands.retry.100' })
    expect(retry.plan(delivery('amq.gen-x', 'Order.Placed'), 'x')).toEqual({ action: 'none' })
  })

  it('reads the original key of a message back from a wait queue', () => {
    const back = new Delivery(
      {
        content: Buffer.alloc(0),
        fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'svc.events', consumerTag: 'c' },
        properties: {
          headers: {
            [RETRY_HEADERS.attempt]: 1,
            'x-death': [{ queue: 'svc.events.retry.100', exchange: 'svc.events.retry.100', 'routing-keys': ['Audit'] }],
          },
        },
      },
      'svc.events',
      undefined,
      1,
    )
    expect(retry.plan(back, 'x')).toEqual({ action: 'none' })
  })
})

describe('retry headers', () => {
  it('reads attempts and errors leniently, and cuts error lines', () => {
    expect([
      attemptsOf({}),
      attemptsOf({ [RETRY_HEADERS.attempt]: 3 }),
      attemptsOf({ [RETRY_HEADERS.attempt]: 'x' }),
    ]).toEqual([0, 3, 0])
    expect([errorsOf({}), errorsOf({ [RETRY_HEADERS.errors]: 'not a list' })]).toEqual([[], []])
    expect(firstLine(new TypeError('bad\nmore'))).toBe('TypeError: bad')
    expect(firstLine('x'.repeat(600))).toHaveLength(500)
  })
})
