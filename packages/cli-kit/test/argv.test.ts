import { describe, expect, it } from 'vitest'
import { normalizeArgv } from '../src/argv.js'
import { listOption, optionValues, parseNumberOption, parseSecondsOption } from '../src/index.js'

describe('normalizeArgv', () => {
  it.each([
    [
      ['--batch_size', '5'],
      ['--batch-size', '5'],
    ],
    [['--filter_fields=a_b=1'], ['--filter-fields=a_b=1']],
    [
      ['--batch-size', '5'],
      ['--batch-size', '5'],
    ],
    [
      ['a_b', '-x_y'],
      ['a_b', '-x_y'],
    ],
    [
      ['--', '--keep_me'],
      ['--', '--keep_me'],
    ],
  ])('%j → %j', (argv, expected) => {
    expect(normalizeArgv(argv)).toEqual(expected)
  })
})

describe('normalizeArgv with variadic options and booleans', () => {
  const options = { variadic: ['events', 'filter-fields'], booleans: ['dry-run'] }
  it.each([
    [
      ['--events', 'A', 'B.*', '--commands', 'C', 'D'],
      ['--events', 'A', '--events', 'B.*', '--commands', 'C', 'D'],
    ],
    [
      ['--events', 'A', 'B', 'amqp://h/', 'x'],
      ['--events', 'A', '--events', 'B', 'amqp://h/', 'x'],
    ],
    [
      ['--filter_fields', 'a=1', 'b=2'],
      ['--filter-fields', 'a=1', '--filter-fields', 'b=2'],
    ],
    [
      ['--events', 'A', '--', 'B'],
      ['--events', 'A', '--', 'B'],
    ],
    [
      ['--dry-run', 'dlq', '--', '--dry-run'],
      ['--dryRun', 'dlq', '--', '--dry-run'],
    ],
    [
      ['--events', 'A', '-', 'B'],
      ['--events', 'A', '--events', '\u0000-', '--events', 'B'],
    ],
  ])('%j → %j', (argv, expected) => {
    expect(normalizeArgv(argv, options)).toEqual(expected)
  })
})

describe('parseNumberOption', () => {
  it.each([
    [5, 5],
    ['7', 7],
    [[1, 2], 2],
    [undefined, undefined],
  ])('reads %j as %j', (value, expected) => {
    expect(parseNumberOption('count', value)).toBe(expected)
  })

  it.each([['x'], [-1], [1.5], [''], [true]])('refuses %j', (value) => {
    expect(() => parseNumberOption('count', value)).toThrow(/--count must be an integer ≥ 0/)
  })

  it('accepts fractions when asked', () => {
    expect(parseNumberOption('timeout', '0.5', { integer: false })).toBe(0.5)
  })
})

describe('parseSecondsOption', () => {
  it.each([
    [30, 30_000],
    ['0.25', 250],
    [0.57, 570],
    ['1e-4', 1],
    [[1, '2'], 2_000],
    [undefined, undefined],
  ])('reads %j seconds as %j ms', (value, expected) => {
    expect(parseSecondsOption('timeout', value)).toBe(expected)
  })

  it.each([['soon'], [0], ['-1'], [''], [true], [Number.POSITIVE_INFINITY]])('refuses %j', (value) => {
    expect(() => parseSecondsOption('connect-timeout', value)).toThrow(
      expect.objectContaining({
        code: 'CLI_USAGE',
        message: `--connect-timeout must be a number of seconds > 0, got ${JSON.stringify(String(value))}`,
      }),
    )
  })
})

describe('listOption', () => {
  it.each([
    [undefined, []],
    ['a', ['a']],
    [
      ['a', 'b'],
      ['a', 'b'],
    ],
  ])('%j → %j', (value, expected) => {
    expect(listOption(value)).toEqual(expected)
  })
})

describe('optionValues', () => {
  it.each([
    [['--id', '0123'], ['0123']],
    [
      ['--id=0x10', 'x', '--id', '1e3'],
      ['0x10', '1e3'],
    ],
    [['--id', '\u0000-'], ['-']],
    [['--idx', '1', '--', '--id', '2'], []],
  ])('%j → %j', (argv, expected) => {
    expect(optionValues(argv, 'id')).toEqual(expected)
  })
})
