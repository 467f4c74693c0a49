import { captureInput } from '@am/cli-kit/testing'
import { describe, expect, it } from 'vitest'
import { createCli } from '../src/program.js'

const URL = 'amqp://guest:guest@localhost/vh'

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => captureInput(createCli, argv, env)

const defaults = { timeoutMs: 30_000, connectTimeoutMs: 5_000, ndjson: false }

describe('am-publish-configuration arguments', () => {
  it.each([
    [[URL, 'asr.Models', 'p.json'], {}, { url: URL, name: 'asr.Models', payloadFile: 'p.json' }, defaults],
    [['Cfg', 'p.cbor'], { AMQP_URL: URL }, { url: URL, name: 'Cfg', payloadFile: 'p.cbor' }, defaults],
    [
      ['Cfg', '-', '--ndjson'],
      { AMQP_URL: URL },
      { url: URL, name: 'Cfg', payloadFile: '-' },
      { ...defaults, ndjson: true },
    ],
    [
      [URL, 'Cfg', 'p.json', '--timeout', '2', '--connect_timeout=0.1'],
      {},
      { url: URL, name: 'Cfg', payloadFile: 'p.json' },
      { timeoutMs: 2000, connectTimeoutMs: 100, ndjson: false },
    ],
    [
      [URL, 'Cfg', 'p.json', '--connect-timeout', '1.5'],
      {},
      { url: URL, name: 'Cfg', payloadFile: 'p.json' },
      { ...defaults, connectTimeoutMs: 1500 },
    ],
  ])('%j (env %j)', async (argv, env, args, options) => {
    expect(await parse(argv, env)).toEqual({ args, options })
  })

  it.each([
    [['Cfg', 'p.json'], {}, /give the broker URL as first argument or set AMQP_URL/],
    [[URL, 'Cfg'], {}, /expected <name> <payload_file> after the broker URL, got 1 argument/],
    [[URL, 'Cfg', 'p.json', '--connect-timeout', '0'], {}, /--connect-timeout must be a number of seconds > 0/],
    [[URL, 'Cfg', 'p.json', '--conversation-id', 'x'], {}, /Unknown option `--conversationId`/],
  ])('refuses %j', async (argv, env, message) => {
    await expect(parse(argv, env)).rejects.toThrow(message)
  })
})
