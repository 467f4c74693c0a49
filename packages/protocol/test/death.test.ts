import { describe, expect, it } from 'vitest'
import { type DeathRecord, headerText, readDeaths, routingKeyOf } from '../src/index.js'

describe('readDeaths', () => {
  it('reads x-death entries as amqplib decodes them, newest first', () => {
    const headers = {
      'x-death': [
        {
          count: 2,
          reason: 'rejected',
          queue: 'svc.events',
          time: { '!': 'timestamp', value: 1_700_000_000 },
          exchange: '',
          'routing-keys': ['svc.events'],
        },
        {
          count: 1,
          reason: Buffer.from('expired'),
          queue: Buffer.from('svc.commands'),
          time: new Date(1_600_000_000_000),
          exchange: Buffer.from('commands'),
          'routing-keys': [Buffer.from('svc.Do'), 'cc.Key'],
        },
        'not a table',
      ],
    }
    expect(readDeaths(headers)).toEqual<DeathRecord[]>([
      {
        count: 2,
        reason: 'rejected',
        queue: 'svc.events',
        time: 1_700_000_000,
        exchange: '',
        routingKeys: ['svc.events'],
      },
      {
        count: 1,
        reason: 'expired',
        queue: 'svc.commands',
        time: 1_600_000_000,
        exchange: 'commands',
        routingKeys: ['svc.Do', 'cc.Key'],
      },
    ])
  })

  it('gives no records for a message that never died', () => {
    expect([readDeaths({}), readDeaths(undefined), readDeaths({ 'x-death': 'x' })]).toEqual([[], [], []])
  })
})

describe('routingKeyOf', () => {
  const delivery = (exchange: string, headers: Record<string, unknown>) => ({
    body: Buffer.alloc(0),
    exchange,
    routingKey: 'svc.events',
    headers,
    properties: {},
  })

  it('finds the original key of a copy replayed through the default exchange', () => {
    const deaths = { 'x-death': [{ queue: 'svc.events', 'routing-keys': [Buffer.from('Order.Placed')] }] }
    expect([routingKeyOf(delivery('', deaths)), routingKeyOf(delivery('events', deaths))]).toEqual([
      'Order.Placed',
      'svc.events',
    ])
  })

  it('skips the deaths of a copy that came through the default exchange (a wait queue back, then rejected)', () => {
    const deaths = {
      'x-death': [
        { queue: 'svc.events', reason: 'rejected', exchange: '', 'routing-keys': ['svc.events'] },
        {
          queue: 'svc.events.retry.1000',
          reason: 'expired',
          exchange: 'svc.events.retry.1000',
          'routing-keys': ['Order.Placed'],
        },
      ],
    }
    expect(routingKeyOf(delivery('', deaths))).toBe('Order.Placed')
  })

  it('keeps the delivery key when the message never died', () => {
    expect(routingKeyOf(delivery('', {}))).toBe('svc.events')
  })
})

describe('headerText', () => {
  it('reads strings and bytes, nothing else', () => {
    expect([headerText('a'), headerText(Buffer.from('é')), headerText(1), headerText(null)]).toEqual([
      'a',
      'é',
      undefined,
      undefined,
    ])
  })
})
