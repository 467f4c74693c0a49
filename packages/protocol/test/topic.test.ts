import { describe, expect, it } from 'vitest'
import { isPattern, matchesTopic } from '../src/index.js'

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
    ['*', '', true],
    ['a.*', 'a.', true],
    ['pong.Echo', 'pong.Echo', true],
    ['pong.Echo', 'pong.EchoX', false],
    ['pong.Echo', 'pong', false],
  ])('%s matches %s: %s', (pattern, key, expected) => {
    expect(matchesTopic(pattern, key)).toBe(expected)
  })

  it('gives the same answers when a compiled pattern is reused', () => {
    const keys = ['a.z', 'a.b.z', 'a.b', 'z']
    const first = keys.map((key) => matchesTopic('a.#.z', key))
    const again = keys.map((key) => matchesTopic('a.#.z', key))
    expect([first, again]).toEqual([
      [true, true, false, false],
      [true, true, false, false],
    ])
  })
})

describe('isPattern', () => {
  it('tells keys with wildcards from plain keys', () => {
    expect(['a.*', 'a.#', '#', 'a.b', 'a*.b', 'a.#b'].map(isPattern)).toEqual([true, true, true, false, false, false])
  })
})
