import { describe, expect, it } from 'vitest'
import { readableHeaders } from '../src/index.js'

describe('readableHeaders', () => {
  it('turns AMQP timestamps into dates and other typed values into their value, at any depth', () => {
    const headers = {
      conversation_id: 'c-1',
      'x-death': [
        {
          count: { '!': 'long', value: 2 },
          time: { '!': 'timestamp', value: 1_700_000_000 },
          'routing-keys': ['Key.a'],
        },
      ],
      nested: { at: { '!': 'timestamp', value: 0 }, flag: { '!': 'bool', value: true } },
    }
    expect(readableHeaders(headers)).toEqual({
      conversation_id: 'c-1',
      'x-death': [{ count: 2, time: new Date(1_700_000_000_000), 'routing-keys': ['Key.a'] }],
      nested: { at: new Date(0), flag: true },
    })
  })

  it('keeps bytes, null and plain values as they are', () => {
    const bytes = Buffer.from([1, 2])
    expect(readableHeaders({ b: bytes, n: null, s: 'x', i: 1 })).toEqual({ b: bytes, n: null, s: 'x', i: 1 })
    expect(readableHeaders({ b: bytes }).b).toBe(bytes)
  })

  it('leaves a timestamp without a numeric value as its value', () => {
    expect(readableHeaders({ t: { '!': 'timestamp', value: 'soon' } })).toEqual({ t: 'soon' })
  })
})
