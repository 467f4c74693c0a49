import { describe, expect, it } from 'vitest'
import { isBrokerUrl, resolveUrl, splitPayloadArgs, splitUrl } from '../src/index.js'

const env = { AMQP_URL: 'amqp://env-host' }

describe('resolveUrl', () => {
  it('prefers the positional URL', () => {
    expect(resolveUrl('amqp://arg-host', env)).toBe('amqp://arg-host')
  })

  it('falls back to AMQP_URL', () => {
    expect(resolveUrl(undefined, env)).toBe('amqp://env-host')
  })

  it('is a usage error without either', () => {
    expect(() => resolveUrl(undefined, {})).toThrowErrorMatchingInlineSnapshot(
      `[CliError: give the broker URL as first argument or set AMQP_URL]`,
    )
  })
})

describe('splitUrl', () => {
  it.each([
    [['amqp://h/v', 'Ev', 'p.json'], env, { url: 'amqp://h/v', rest: ['Ev', 'p.json'] }],
    [['AMQPS://h', 'Ev'], {}, { url: 'AMQPS://h', rest: ['Ev'] }],
    [['Ev', 'p.json'], env, { url: 'amqp://env-host', rest: ['Ev', 'p.json'] }],
    [[], env, { url: 'amqp://env-host', rest: [] }],
    [['amqp://h', 'Ev', '\u0000-'], env, { url: 'amqp://h', rest: ['Ev', '-'] }],
  ])('splits %j', (positionals, environment, expected) => {
    expect(splitUrl(positionals, environment)).toEqual(expected)
  })

  it('is a usage error when the first argument is no URL and AMQP_URL is unset', () => {
    expect(() => splitUrl(['Ev', 'p.json'], {})).toThrow(/set AMQP_URL/)
  })
})

describe('isBrokerUrl', () => {
  it.each([
    ['amqp://x', true],
    ['amqps://x', true],
    ['http://x', false],
    ['Event', false],
    [undefined, false],
  ])('%s → %s', (value, expected) => {
    expect(isBrokerUrl(value)).toBe(expected)
  })
})

describe('splitPayloadArgs', () => {
  it.each([
    [['amqp://h/v', 'Ev', 'p.json'], { url: 'amqp://h/v', name: 'Ev', payloadFile: 'p.json' }],
    [['Ev', '\u0000-'], { url: 'amqp://env-host', name: 'Ev', payloadFile: '-' }],
  ])('splits %j', (positionals, expected) => {
    expect(splitPayloadArgs(positionals, env, '<event>')).toEqual(expected)
  })

  it.each([
    [['amqp://h', 'Ev'], 1],
    [['amqp://h', 'Ev', 'p.json', 'extra'], 3],
    [[], 0],
  ])('is a usage error naming the arguments for %j', (positionals, count) => {
    expect(() => splitPayloadArgs(positionals, env, '<service.Command>')).toThrow(
      expect.objectContaining({
        code: 'CLI_USAGE',
        message: `expected <service.Command> <payload_file> after the broker URL, got ${count} argument(s); see --help`,
      }),
    )
  })
})
