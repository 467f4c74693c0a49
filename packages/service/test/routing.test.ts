import { describe, expect, it } from 'vitest'
import { isPattern, matchesTopic } from '../src/index.js'
import { HandlerTable } from '../src/routing.js'

describe('matchesTopic', () => {
  it('is still exported by @am/service (from @am/protocol)', () => {
    expect([matchesTopic('Spec.#', 'Spec.a'), matchesTopic('Spec.*', 'Spec.a.b')]).toEqual([true, false])
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
