import { describe, expect, it } from 'vitest'
import { matchesFilters, parseFieldFilter } from '../src/filter.js'

describe('parseFieldFilter', () => {
  it.each([
    ['client_id=123', { field: 'client_id', value: 123 }],
    ['client_id=-7', { field: 'client_id', value: -7 }],
    ['big=9007199254740993', { field: 'big', value: 9007199254740993n }],
    ['ratio=1.5', { field: 'ratio', value: 1.5 }],
    ['name=abc', { field: 'name', value: 'abc' }],
    ['name="123"', { field: 'name', value: '123' }],
    ['name=', { field: 'name', value: '' }],
    ['a=b=c', { field: 'a', value: 'b=c' }],
    ['flag=true', { field: 'flag', value: true }],
    ['gone=null', { field: 'gone', value: null }],
    ['tags=["x",1]', { field: 'tags', value: ['x', 1] }],
    ['where={"city":"Lyon"}', { field: 'where', value: { city: 'Lyon' } }],
  ])('%s', (text, expected) => {
    expect(parseFieldFilter(text)).toEqual(expected)
  })

  it.each(['novalue', '=1', ''])('refuses %j', (text) => {
    expect(parseFieldFilter(text)).toBeUndefined()
  })
})

describe('matchesFilters', () => {
  const filters = (...texts: string[]) =>
    texts.map((text) => parseFieldFilter(text) as NonNullable<ReturnType<typeof parseFieldFilter>>)

  it('matches numbers as numbers, not as strings (eventail compared strings only)', () => {
    expect(matchesFilters({ client_id: 123 }, filters('client_id=123'))).toBe(true)
    expect(matchesFilters({ client_id: '123' }, filters('client_id=123'))).toBe(false)
    expect(matchesFilters({ client_id: '123' }, filters('client_id="123"'))).toBe(true)
  })

  it('matches big integers decoded as bigint and integral floats', () => {
    expect(matchesFilters({ id: 9007199254740993n }, filters('id=9007199254740993'))).toBe(true)
    expect(matchesFilters({ id: 3 }, filters('id=3.0'))).toBe(true)
    expect(matchesFilters({ id: 3n }, filters('id=3'))).toBe(true)
  })

  it('requires every filter and the field itself', () => {
    expect(matchesFilters({ a: 1, b: 'x' }, filters('a=1', 'b=x'))).toBe(true)
    expect(matchesFilters({ a: 1, b: 'y' }, filters('a=1', 'b=x'))).toBe(false)
    expect(matchesFilters({}, filters('gone=null'))).toBe(false)
    expect(matchesFilters({ gone: null }, filters('gone=null'))).toBe(true)
  })

  it('compares arrays and objects deeply', () => {
    expect(matchesFilters({ tags: ['x', 1] }, filters('tags=["x",1]'))).toBe(true)
    expect(matchesFilters({ where: { city: 'Lyon' } }, filters('where={"city":"Lyon"}'))).toBe(true)
    expect(matchesFilters({ where: { city: 'Lyon', zip: 1 } }, filters('where={"city":"Lyon"}'))).toBe(false)
  })

  it('reads Map payloads (CBOR maps with non-text keys)', () => {
    expect(
      matchesFilters(
        new Map<unknown, unknown>([
          ['a', 1],
          [2, 'two'],
        ]),
        filters('a=1'),
      ),
    ).toBe(true)
  })

  it.each([[['a', 1]], ['text'], [null], [42], [new Uint8Array([1])], [undefined]])(
    'does not match a non-map payload %j, without throwing',
    (payload) => {
      expect(matchesFilters(payload, filters('a=1'))).toBe(false)
    },
  )

  it('lets everything through without filters', () => {
    expect(matchesFilters('text', [])).toBe(true)
  })

  it('ignores inherited properties', () => {
    expect(matchesFilters({}, filters('toString=1'))).toBe(false)
  })
})
