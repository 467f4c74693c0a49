import { captureInput } from '@am/cli-kit/testing'
import { describe, expect, it } from 'vitest'
import { createCli } from '../src/program.js'

const URL = 'amqp://guest:guest@localhost/vh'

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => captureInput(createCli, argv, env)

const defaults = { filters: ['#'], connectTimeoutMs: 5_000, ndjson: false }

describe('am-logger arguments', () => {
  it.each([
    [[URL], {}, defaults],
    [[], { AMQP_URL: URL }, defaults],
    [[URL, '--filter', '*.ERROR', '--filter', 'asr.#'], {}, { ...defaults, filters: ['*.ERROR', 'asr.#'] }],
    [['--filter', '*.ERROR', 'asr.#', URL], {}, { ...defaults, filters: ['*.ERROR', 'asr.#'] }],
    [[URL, '--filter=1e3.*'], {}, { ...defaults, filters: ['1e3.*'] }],
    [[URL, '--level', 'WARNING'], {}, { ...defaults, level: 4 }],
    [[URL, '--level', 'err'], {}, { ...defaults, level: 3 }],
    [[URL, '--level', '7'], {}, { ...defaults, level: 7 }],
    [[URL, '--count', '3', '--ndjson'], {}, { ...defaults, count: 3, ndjson: true }],
    [[URL, '--connect_timeout', '0.1'], {}, { ...defaults, connectTimeoutMs: 100 }],
  ])('%j (env %j)', async (argv, env, options) => {
    expect(await parse(argv, env)).toEqual({ args: { url: URL }, options })
  })

  it.each([
    [[], {}, /give the broker URL as first argument or set AMQP_URL/],
    [[URL, 'svc.*'], {}, /unexpected argument "svc\.\*": patterns go after --filter/],
    [[URL, URL], {}, /give one broker URL/],
    [[URL, '--level', 'LOUD'], {}, /unknown --level "LOUD": use EMERGENCY, ALERT/],
    [[URL, '--count', '0'], {}, /--count must be an integer ≥ 1/],
    [[URL, '--filter'], {}, /value is missing/],
  ])('refuses %j', async (argv, env, message) => {
    await expect(parse(argv, env)).rejects.toThrow(message)
  })
})
