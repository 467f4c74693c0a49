import { describe, expect, it } from 'vitest'
import { toJsonSafe, writeNdjson } from '../src/index.js'
import { createMemoryContext } from '../src/testing.js'

describe('toJsonSafe', () => {
  it.each([
    ['a safe bigint', 42n, 42],
    ['a big bigint', 2n ** 64n, '18446744073709551616'],
    ['bytes', new Uint8Array([1, 2, 255]), { $bytes: 'AQL/' }],
    ['a string-keyed Map', new Map([['a', 1n]]), { a: 1 }],
    [
      'a Map with other keys',
      new Map<unknown, unknown>([
        [1, 'x'],
        ['b', 'y'],
      ]),
      [
        [1, 'x'],
        ['b', 'y'],
      ],
    ],
    ['a Date', new Date(Date.UTC(2020, 0, 2, 3, 4, 5)), '2020-01-02T03:04:05.000Z'],
    ['NaN', Number.NaN, 'NaN'],
    ['nested values', { a: [1n, { b: new Uint8Array([0]) }], u: undefined }, { a: [1, { b: { $bytes: 'AA==' } }] }],
  ])('converts %s', (_what, value, expected) => {
    expect(toJsonSafe(value)).toEqual(expected)
  })
})

describe('writeNdjson', () => {
  it('writes one line per object to stdout', () => {
    const memory = createMemoryContext()
    writeNdjson(memory.ctx, { n: 2n ** 70n })
    writeNdjson(memory.ctx, { ok: true })
    expect(memory.stdout()).toBe('{"n":"1180591620717411303424"}\n{"ok":true}\n')
  })
})
