import { describe, expect, it } from 'vitest'
import { isPattern, matchesTopic } from '../src/index.js'
import { HandlerTable } from '../src/routing.js'

describe('matchesTopic', () => {
  it.each([
    ['Spec.*.Other', 'Spec.x.Other', true],
    ['Spec.*.Other', 'Spec.x.y.Other', false],
    ['Spec.#', 'Spec', true],
    ['Spec.#', 'Spec.a.b', true],
    ['#', 'anything.at.all', true],
    ['#.end', 'end', true],
    ['#.end', 'a.b.end', true],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
    ['*', 'one', true],
    ['*', 'one.two', false],
    ['pong.Echo', 'pong.Echo', true],
    ['pong.Echo', 'pong.EchoX', false],
  ])('%s matches %s: %s', (pattern, key, expected) => {
    expect(matchesTopic(pattern, key)).toBe(expected)
  })
})

describe('HandlerTable', () => {
  it('prefers an exact key, then patterns in declaration order', () => {
    const table = new HandlerTable<string>([
      ['Spec.#', 'hash'],
      ['Spec.Exact', 'exact'],
      ['Spec.*', 'star'],
    ])
    expect([table.find('Spec.Exact'), table.find('Spec.Other'), table.find('Nope')]).toEqual([
      'exact',
      'hash',
      undefined,
    ])
    expect([table.size, isPattern('a.*'), isPattern('a.b')]).toEqual([3, true, false])
  })
})
