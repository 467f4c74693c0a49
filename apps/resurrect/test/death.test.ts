import { describe, expect, it } from 'vitest'
import { deathOf } from '../src/commands/resurrect.js'

const first = {
  count: 1,
  reason: 'rejected',
  queue: 'svc.commands',
  exchange: 'commands',
  'routing-keys': ['svc.DoThing'],
}
const firstHeaders = {
  'x-first-death-exchange': 'commands',
  'x-first-death-queue': 'svc.commands',
  'x-first-death-reason': 'rejected',
}

describe('deathOf', () => {
  it('reads the queue, exchange and routing key of a dead letter', () => {
    expect(deathOf({ 'x-death': [first], ...firstHeaders }, 'svc.DoThing')).toEqual({
      queue: 'svc.commands',
      exchange: 'commands',
      routingKey: 'svc.DoThing',
      repaired: false,
    })
  })

  it('repairs a message replayed into its queue that died there again for the same reason (one entry, count 2)', () => {
    expect(deathOf({ 'x-death': [{ ...first, count: 2 }], ...firstHeaders }, 'svc.commands')).toEqual({
      queue: 'svc.commands',
      exchange: 'commands',
      routingKey: 'svc.DoThing',
      repaired: true,
    })
  })

  it('takes the route of the first death even when a later death of the same reason moved its entry to the front', () => {
    const replayed = {
      count: 1,
      reason: 'expired',
      queue: 'svc.commands',
      exchange: '',
      'routing-keys': ['svc.commands'],
    }
    expect(deathOf({ 'x-death': [{ ...first, count: 2 }, replayed], ...firstHeaders }, 'svc.commands')).toEqual({
      queue: 'svc.commands',
      exchange: 'commands',
      routingKey: 'svc.DoThing',
      repaired: true,
    })
    expect(deathOf({ 'x-death': [replayed, first], ...firstHeaders }, 'svc.commands')).toEqual({
      queue: 'svc.commands',
      exchange: 'commands',
      routingKey: 'svc.DoThing',
      repaired: true,
    })
  })

  it('keeps the default exchange of a message first published straight into a queue', () => {
    const direct = { count: 1, reason: 'rejected', queue: 'q', exchange: '', 'routing-keys': ['q'] }
    const headers = { 'x-death': [direct], 'x-first-death-exchange': '', 'x-first-death-queue': 'q' }
    expect(deathOf(headers, 'q')).toEqual({ queue: 'q', exchange: '', routingKey: 'q', repaired: false })
  })

  it('falls back on x-first-death-* without x-death, and says nothing without either', () => {
    expect(deathOf(firstHeaders, 'svc.DoThing')).toEqual({
      queue: 'svc.commands',
      exchange: 'commands',
      repaired: false,
    })
    expect(deathOf({}, 'k')).toEqual({ repaired: false })
  })
})
