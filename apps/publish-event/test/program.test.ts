import { captureInput } from '@am/cli-kit/testing'
import { describe, expect, it } from 'vitest'
import { createCli } from '../src/program.js'

const URL = 'amqp://guest:guest@localhost/vh'

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => captureInput(createCli, argv, env)

const defaults = { timeoutMs: 30_000, connectTimeoutMs: 5_000, ndjson: false }

describe('am-publish-event arguments', () => {
  it.each([
    [[URL, 'Ev', 'p.json'], {}, { url: URL, event: 'Ev', payloadFile: 'p.json' }, defaults],
    [['Ev', 'p.cbor'], { AMQP_URL: URL }, { url: URL, event: 'Ev', payloadFile: 'p.cbor' }, defaults],
    [[URL, 'Ev', '-', '--ndjson'], {}, { url: URL, event: 'Ev', payloadFile: '-' }, { ...defaults, ndjson: true }],
    [
      [URL, 'Ev', 'p.json', '--conversation-id', 'c-1', '--timeout', '1.5', '--connect-timeout', '0.2'],
      {},
      { url: URL, event: 'Ev', payloadFile: 'p.json' },
      { conversationId: 'c-1', timeoutMs: 1500, connectTimeoutMs: 200, ndjson: false },
    ],
    [
      [URL, 'Ev', 'p.json', '--conversation-id', '007'],
      {},
      { url: URL, event: 'Ev', payloadFile: 'p.json' },
      { ...defaults, conversationId: '007' },
    ],
    [
      [URL, 'Ev', 'p.json', '--conversation_id=c-2', '--connect_timeout', '0.3'],
      {},
      { url: URL, event: 'Ev', payloadFile: 'p.json' },
      { ...defaults, conversationId: 'c-2', connectTimeoutMs: 300 },
    ],
  ])('%j (env %j)', async (argv, env, args, options) => {
    expect(await parse(argv, env)).toEqual({ args, options })
  })

  it.each([
    [['Ev', 'p.json'], {}, /give the broker URL as first argument or set AMQP_URL/],
    [[URL, 'Ev'], {}, /expected <event> <payload_file> after the broker URL, got 1 argument/],
    [[URL, 'Ev', 'p.json', 'extra'], {}, /expected <event> <payload_file>/],
    [[URL, 'Ev', 'p.json', '--timeout', 'soon'], {}, /--timeout must be a number/],
    [[URL, 'Ev', 'p.json', '--bogus'], {}, /Unknown option `--bogus`/],
    [[URL, 'Ev', 'p.json', '--conversation-id'], {}, /value is missing/],
  ])('refuses %j', async (argv, env, message) => {
    await expect(parse(argv, env)).rejects.toThrow(message)
  })
})
