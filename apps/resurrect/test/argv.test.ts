import { describe, expect, it } from 'vitest'
import { settingsOf } from './helpers.js'

const url = 'amqp://guest:guest@localhost:5672/vh'
const defaults = {
  url,
  dlq: 'dead_letters',
  count: 0,
  batchSize: 10,
  filters: ['#'],
  dryRun: false,
  rebroadcast: false,
  toQueue: false,
  managementUrl: undefined,
  ndjson: false,
  connectTimeoutMs: 5000,
}

describe('am-resurrect argv → settings', () => {
  it.each([
    { argv: [url, 'dead_letters'], expected: {} },
    { argv: [url, 'dead_letters', '--count', '5'], expected: { count: 5 } },
    { argv: [url, 'dead_letters', '--batch_size', '50'], expected: { batchSize: 50 } },
    { argv: [url, 'dead_letters', '--batch-size=2'], expected: { batchSize: 2 } },
    { argv: [url, 'dead_letters', '--filter', 'voxo.*', 'Conv.#'], expected: { filters: ['voxo.*', 'Conv.#'] } },
    { argv: [url, 'dead_letters', '--filter', 'A', '--filter', 'B'], expected: { filters: ['A', 'B'] } },
    { argv: ['--filter', 'A', 'B', url, 'dead_letters'], expected: { filters: ['A', 'B'] } },
    { argv: ['--dry-run', url, 'dead_letters'], expected: { dryRun: true } },
    { argv: [url, '--dry-run', 'dead_letters'], expected: { dryRun: true } },
    { argv: [url, 'dead_letters', '--dry-run', '--ndjson'], expected: { dryRun: true, ndjson: true } },
    { argv: [url, 'dead_letters', '--rebroadcast'], expected: { rebroadcast: true } },
    { argv: [url, 'dead_letters', '--to-queue'], expected: { toQueue: true } },
    {
      argv: [url, 'dead_letters', '--management-url', 'http://admin:pw@mgmt:15672'],
      expected: { managementUrl: 'http://admin:pw@mgmt:15672' },
    },
    { argv: [url, 'dead_letters', '--filter', 'A', '--'], expected: { filters: ['A'] } },
  ])('$argv', ({ argv, expected }) => {
    expect(settingsOf(argv)).toEqual({ ...defaults, ...expected })
  })

  it('takes the URL from AMQP_URL when the first argument is not one', () => {
    expect(settingsOf(['dead_letters', '--filter', 'A', 'B'], { AMQP_URL: 'amqp://env' })).toEqual({
      ...defaults,
      url: 'amqp://env',
      filters: ['A', 'B'],
    })
  })

  it.each([
    { argv: [url], error: /missing <dlq>/ },
    { argv: ['--filter', 'A', 'dead_letters'], error: /give the broker URL as first argument or set AMQP_URL/ },
    { argv: [url, 'dead_letters', 'more'], error: /unexpected argument "more"/ },
    { argv: [url, 'dead_letters', '--batch_size', '0'], error: /--batch-size must be an integer ≥ 1/ },
    { argv: [url, 'dead_letters', '--count', 'x'], error: /--count must be an integer ≥ 0/ },
    { argv: [url, 'dead_letters', '--management-url'], error: /^--management-url needs a URL/ },
    {
      argv: [url, 'dead_letters', '--rebroadcast', '--to-queue'],
      error: /^--rebroadcast and --to-queue exclude each other: choose one route for events$/,
    },
  ])('refuses $argv with a usage error', ({ argv, error }) => {
    expect(() => settingsOf(argv)).toThrow(
      expect.objectContaining({ code: 'CLI_USAGE', exitCode: 64, message: expect.stringMatching(error) }),
    )
  })

  it('explains where the queue goes when --filter swallowed it and AMQP_URL gives the URL', () => {
    expect(() => settingsOf(['--filter', 'A', 'dead_letters'], { AMQP_URL: 'amqp://env' })).toThrow(
      /missing <dlq>: am-resurrect \[url\] <dlq> \(--filter takes every word after it: put the queue first\)/,
    )
  })
})
