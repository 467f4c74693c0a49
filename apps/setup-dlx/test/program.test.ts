import { captureInput } from '@am/cli-kit/testing'
import { describe, expect, it } from 'vitest'
import { createCli } from '../src/program.js'

const URL = 'amqp://guest:guest@localhost/vh'

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => captureInput(createCli, argv, env)

const defaults = {
  exchange: 'am-dlx',
  queue: 'dead_letters',
  pattern: '^.*\\.(events|commands)$',
  policyName: 'DLX',
  connectTimeoutMs: 5_000,
  ndjson: false,
}

describe('am-setup-dlx arguments', () => {
  it.each([
    [[URL], {}, defaults],
    [[], { AMQP_URL: URL }, defaults],
    [
      [URL, '--management-url', 'https://admin.example.com/', '--exchange', 'x', '--queue', '007', '--ndjson'],
      {},
      { ...defaults, managementUrl: 'https://admin.example.com/', exchange: 'x', queue: '007', ndjson: true },
    ],
    [
      [URL, '--pattern', '^a\\.events$', '--policy_name', 'DL', '--management_url=http://h:1/'],
      {},
      { ...defaults, pattern: '^a\\.events$', policyName: 'DL', managementUrl: 'http://h:1/' },
    ],
  ])('%j (env %j)', async (argv, env, options) => {
    expect(await parse(argv, env)).toEqual({ args: { url: URL }, options })
  })

  it.each([
    [[], {}, /give the broker URL as first argument or set AMQP_URL/],
    [[URL, 'extra'], {}, /unexpected argument "extra"/],
    [[URL, '--management-url', 'not a url'], {}, /--management-url is not a URL/],
    [[URL, '--pattern', '('], {}, /--pattern is not a regular expression/],
    [[URL, '--exchange='], {}, /--exchange cannot be empty|value is missing/],
    [[URL, '--vhost', 'x'], {}, /Unknown option `--vhost`/],
  ])('refuses %j', async (argv, env, message) => {
    await expect(parse(argv, env)).rejects.toThrow(message)
  })
})
