import { describe, expect, it } from 'vitest'
import { settingsOf } from './helpers.js'

const url = 'amqp://guest:guest@localhost:5672/vh'
const defaults = { url, queue: 'q', count: 0, save: false, dir: '.', ndjson: false, connectTimeoutMs: 5000 }

describe('am-inspect-queue argv → settings', () => {
  it.each([
    { argv: [url, 'q'], expected: {} },
    { argv: [url, 'q', '--count', '5'], expected: { count: 5 } },
    { argv: ['--count', '5', url, 'q'], expected: { count: 5 } },
    { argv: [url, 'q', '--count=0'], expected: { count: 0 } },
    { argv: [url, 'q', '--save', '--dir', '/tmp/x'], expected: { save: true, dir: '/tmp/x' } },
    { argv: [url, 'q', '--ndjson', '--connect-timeout', '0.1'], expected: { ndjson: true, connectTimeoutMs: 100 } },
    { argv: [url, 'dead.letters'], expected: { queue: 'dead.letters' } },
  ])('$argv', ({ argv, expected }) => {
    expect(settingsOf(argv)).toEqual({ ...defaults, ...expected })
  })

  it('takes the URL from AMQP_URL when the first argument is not one', () => {
    expect(settingsOf(['q', '--count', '2'], { AMQP_URL: 'amqps://env-host' })).toEqual({
      ...defaults,
      url: 'amqps://env-host',
      count: 2,
    })
  })

  it.each([
    { argv: [url], error: /missing <queue>/ },
    { argv: ['q'], error: /give the broker URL as first argument or set AMQP_URL/ },
    { argv: [url, 'q', 'r'], error: /unexpected argument "r"/ },
    { argv: [url, 'q', '--count', '-1'], error: /--count must be an integer ≥ 0/ },
    { argv: [url, 'q', '--count', '1.5'], error: /--count must be an integer ≥ 0/ },
  ])('refuses $argv with a usage error', ({ argv, error }) => {
    expect(() => settingsOf(argv)).toThrow(
      expect.objectContaining({ code: 'CLI_USAGE', exitCode: 64, message: expect.stringMatching(error) }),
    )
  })
})
