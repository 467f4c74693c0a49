import { captureInput } from '@am/cli-kit/testing'
import { describe, expect, it } from 'vitest'
import { createCli } from '../src/program.js'

const URL = 'amqp://guest:guest@localhost/vh'

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => captureInput(createCli, argv, env)

const defaults = { timeoutMs: 30_000, connectTimeoutMs: 5_000, ndjson: false }

describe('am-send-command arguments', () => {
  it.each([
    [[URL, 'svc.Do', 'p.json'], {}, { url: URL, command: 'svc.Do', payloadFile: 'p.json' }, defaults],
    [['svc.Do', 'p.cbor'], { AMQP_URL: URL }, { url: URL, command: 'svc.Do', payloadFile: 'p.cbor' }, defaults],
    [
      [URL, 'svc.Do', '-', '--timeout', '1', '--ndjson'],
      {},
      { url: URL, command: 'svc.Do', payloadFile: '-' },
      { ...defaults, timeoutMs: 1000, ndjson: true },
    ],
    [
      [URL, 'svc.Do', 'p.json', '--conversation_id', '0042', '--connect-timeout=0.25'],
      {},
      { url: URL, command: 'svc.Do', payloadFile: 'p.json' },
      { ...defaults, conversationId: '0042', connectTimeoutMs: 250 },
    ],
  ])('%j (env %j)', async (argv, env, args, options) => {
    expect(await parse(argv, env)).toEqual({ args, options })
  })

  it.each([
    [['svc.Do', 'p.json'], {}, /give the broker URL as first argument or set AMQP_URL/],
    [[URL, 'svc.Do'], {}, /expected <service.Command> <payload_file> after the broker URL, got 1 argument/],
    [[URL, 'svc.Do', 'p.json', '--timeout', 'x'], {}, /--timeout must be a number/],
    [[URL, 'svc.Do', 'p.json', '--retries', '2'], {}, /Unknown option `--retries`/],
  ])('refuses %j', async (argv, env, message) => {
    await expect(parse(argv, env)).rejects.toThrow(message)
  })
})
