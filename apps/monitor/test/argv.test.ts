import { describe, expect, it } from 'vitest'
import { settingsOf } from './helpers.js'

const url = 'amqp://guest:guest@localhost:5672/vh'
const defaults = {
  url,
  events: [],
  commands: [],
  configurations: [],
  filters: [],
  save: false,
  json: false,
  dir: '.',
  count: undefined,
  ndjson: false,
  connectTimeoutMs: 5000,
}

describe('am-monitor argv → settings', () => {
  it.each([
    { argv: [url, '--events', 'A'], expected: { events: ['A'] } },
    {
      argv: [url, '--events', 'A', 'B.*', '--commands', 'svc.#'],
      expected: { events: ['A', 'B.*'], commands: ['svc.#'] },
    },
    { argv: ['--events', 'A', 'B', url], expected: { events: ['A', 'B'] } },
    { argv: [url, '--events', 'A', '--events', 'B'], expected: { events: ['A', 'B'] } },
    { argv: [url, '--configurations', '#'], expected: { configurations: ['#'] } },
    {
      argv: [url, '--events', '#', '--filter_fields', 'client_id=123', 'name=abc'],
      expected: {
        events: ['#'],
        filters: [
          { field: 'client_id', value: 123 },
          { field: 'name', value: 'abc' },
        ],
      },
    },
    {
      argv: [url, '--events', '#', '--filter-fields', 'a=b=c', '--filter-fields', 'id="123"', 'ok=true'],
      expected: {
        events: ['#'],
        filters: [
          { field: 'a', value: 'b=c' },
          { field: 'id', value: '123' },
          { field: 'ok', value: true },
        ],
      },
    },
    {
      argv: [url, '--events', '#', '--filter-fields=big=12345678901234567890'],
      expected: { events: ['#'], filters: [{ field: 'big', value: 12345678901234567890n }] },
    },
    {
      argv: [url, '--events', '#', '--save', '--json', '--dir', '/tmp', '--count', '3', '--ndjson'],
      expected: { events: ['#'], save: true, json: true, dir: '/tmp', count: 3, ndjson: true },
    },
    { argv: [url, '--events', '#', '--connect-timeout', '0.25'], expected: { events: ['#'], connectTimeoutMs: 250 } },
  ])('$argv', ({ argv, expected }) => {
    expect(settingsOf(argv)).toEqual({ ...defaults, ...expected })
  })

  it('takes the URL from AMQP_URL when the first argument is not one', () => {
    expect(settingsOf(['--events', 'A'], { AMQP_URL: 'amqp://env-host' })).toEqual({
      ...defaults,
      url: 'amqp://env-host',
      events: ['A'],
    })
  })

  it.each([
    { argv: [url], error: /nothing to monitor/ },
    { argv: ['--events', 'A'], error: /give the broker URL as first argument or set AMQP_URL/ },
    { argv: [url, 'extra', '--events', 'A'], error: /unexpected argument "extra"/ },
    { argv: [url, '--events', 'A', '--filter-fields', 'novalue'], error: /--filter-fields takes field=value/ },
    { argv: [url, '--events', 'A', '--filter-fields', '=1'], error: /--filter-fields takes field=value/ },
    { argv: [url, '--events', 'A', '--count', '0'], error: /--count must be an integer ≥ 1/ },
    { argv: [url, '--events', 'A', '--count', 'many'], error: /--count must be an integer ≥ 1/ },
  ])('refuses $argv with a usage error', ({ argv, error }) => {
    expect(() => settingsOf(argv)).toThrow(
      expect.objectContaining({ code: 'CLI_USAGE', exitCode: 64, message: expect.stringMatching(error) }),
    )
  })
})
