import { describe, expect, it } from 'vitest'
import { satisfies } from '../src/semver.js'

describe('satisfies', () => {
  it('reads the ranges we publish', () => {
    const cases: [string, string, boolean][] = [
      ['0.1.0', '^0.1.0', true],
      ['0.2.0', '^0.1.0', false],
      ['1.4.2', '^1.0.0', true],
      ['2.0.0', '^1.0.0', false],
      ['0.0.0', '^0.0.0', true],
      ['0.0.1', '^0.0.0', false],
      ['0.9.3', '0.x', true],
      ['1.0.0', '0.x', false],
      ['0.5.0', '>=0.1.0 <1.0.0', true],
      ['0.0.9', '>=0.1.0 <1.0.0', false],
      ['2.0.0', '^1.0.0 || ^2.0.0', true],
      ['1.2.3', '1.2.3', true],
    ]
    expect(cases.map(([v, r]) => satisfies(v, r))).toEqual(cases.map(([, , expected]) => expected))
  })
})
