import { describe, expect, it } from 'vitest'
import { type DeadLetterRow, matchesRow } from '../src/dead-letters.js'
import { type LiveItem, passes } from '../src/live.js'
import { filterOf, isLoopback, liveFilterOf } from '../src/server.js'
import { toView } from '../src/view.js'

describe('toView', () => {
  it('keeps what JSON cannot say: big integers, bytes, maps with other keys, dates, NaN, undefined', () => {
    const value = {
      small: 12n,
      big: 2n ** 64n,
      bytes: new Uint8Array([1, 2, 255]),
      map: new Map<unknown, unknown>([[1, 'one']]),
      textMap: new Map([['a', 1]]),
      at: new Date('2026-01-02T03:04:05.000Z'),
      nan: Number.NaN,
      nothing: undefined,
      list: [1, 'two', null],
    }
    expect(toView(value)).toEqual({
      small: { $bigint: '12' },
      big: { $bigint: '18446744073709551616' },
      bytes: { $bytes: '0102ff', length: 3 },
      map: { $map: [[1, 'one']] },
      textMap: { a: 1 },
      at: { $date: '2026-01-02T03:04:05.000Z' },
      nan: { $number: 'NaN' },
      nothing: { $undefined: true },
      list: [1, 'two', null],
    })
  })

  it('cuts long bytes but says their length', () => {
    expect(toView(new Uint8Array(10), 4)).toEqual({ $bytes: '00000000', length: 10 })
  })
})

describe('dead-letter filters', () => {
  const row: DeadLetterRow = {
    id: 'x-1',
    index: 1,
    diedAt: '2026-01-02T10:00:00.000Z',
    queue: 'billing.commands',
    routingKey: 'billing.Charge',
    exchange: 'commands',
    kind: 'command',
    reason: 'rejected',
    deaths: 2,
    conversationId: 'c',
    size: 3,
    contentType: 'application/cbor',
  }
  it('holds when every given condition holds', () => {
    expect(matchesRow(row, {})).toBe(true)
    expect(matchesRow(row, filterOf({ key: 'billing.*', queue: 'billing.commands', reason: 'rejected' }))).toBe(true)
    expect(matchesRow(row, filterOf({ key: 'voxo.#' }))).toBe(false)
    expect(matchesRow(row, filterOf({ reason: 'expired' }))).toBe(false)
    expect(matchesRow(row, filterOf({ since: '2026-01-02T10:00:00Z' }))).toBe(true)
    expect(matchesRow(row, filterOf({ until: '2026-01-02T10:00:00Z' }))).toBe(false)
    expect(matchesRow(row, { ids: ['x-2'] })).toBe(false)
    expect(matchesRow({ ...row, diedAt: null }, filterOf({ since: '0' }))).toBe(false)
  })
  it('refuses a date it cannot read', () => {
    expect(() => filterOf({ since: 'last tuesday' })).toThrow('since must be a date')
  })
})

describe('live filters', () => {
  const item = (origin: LiveItem['origin'], routingKey: string, level?: number): LiveItem => ({
    seq: 1,
    at: '',
    stream: origin === 'logs' ? 'log' : 'event',
    origin,
    exchange: origin,
    routingKey,
    conversationId: '',
    correlationId: '',
    replyTo: '',
    status: '',
    ...(level === undefined ? {} : { level }),
    size: 0,
  })
  it("takes the monitor's patterns and field filters, and the logger's level", () => {
    const filter = liveFilterOf(
      new URLSearchParams('events=billing.*,voxo.#&logs=%23&field=client_id=12&level=WARNING'),
    )
    expect(filter).toEqual({
      events: ['billing.*', 'voxo.#'],
      commands: [],
      configurations: [],
      logs: ['#'],
      fields: [{ field: 'client_id', value: 12 }],
      level: 4,
    })
    expect(passes(filter, item('events', 'billing.Paid'), { client_id: 12 })).toBe(true)
    expect(passes(filter, item('events', 'billing.Paid'), { client_id: 13 })).toBe(false)
    expect(passes(filter, item('events', 'other.Paid'), { client_id: 12 })).toBe(false)
    expect(passes(filter, item('commands', 'billing.Do'), { client_id: 12 })).toBe(false)
    expect(passes(filter, item('logs', 'svc.ERROR', 3), undefined)).toBe(true)
    expect(passes(filter, item('logs', 'svc.INFO', 6), undefined)).toBe(false)
    expect(() => liveFilterOf(new URLSearchParams('level=LOUD'))).toThrow('level is 0-7')
  })
})

describe('isLoopback', () => {
  it('knows loopback names and addresses only', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'].map(isLoopback)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ])
    expect(['0.0.0.0', '10.0.0.1', 'example.com', '::'].map(isLoopback)).toEqual([false, false, false, false])
  })
})
