import { fileURLToPath } from 'node:url'
import { createSupervisor } from '@am/bus-core'
import { closedPort, expectNoBroker, expectUsageError, runBinary } from '@am/cli-kit/testing'
import { uniqueName } from '@am/testkit'
import { describe, expect, inject, it } from 'vitest'
import { dlxNames } from './helpers.js'

const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const url = inject('amqpUrl')

describe('am-setup-dlx (built binary)', () => {
  it('exits 0 with the rabbitmqctl command as NDJSON when the management API is away', async () => {
    const names = dlxNames(url)
    const secret = uniqueName('s3cr3t')
    const managementUrl = `http://admin:${secret}@127.0.0.1:${await closedPort()}/`
    const run = await runBinary(bin, [
      url,
      '--exchange',
      names.exchange,
      '--queue',
      names.queue,
      '--management-url',
      managementUrl,
      '--ndjson',
    ])
    expect(run.json()).toEqual([
      {
        ...names,
        policy: 'manual',
        command: expect.stringMatching(/^rabbitmqctl set_policy -p \S+ DLX '\^\.\*\\\.\(events\|commands\)\$' /),
        reason: expect.stringContaining('management API unreachable'),
      },
    ])
    expect(run.code).toBe(0)
    expect(run.stdout + run.stderr).not.toContain(secret)
    await using bus = createSupervisor({ urls: url })
    await expect(bus.checkQueue(names.queue)).resolves.toMatchObject({ queue: names.queue })
  })

  it('exits 69 when no broker listens, without showing the password', () =>
    expectNoBroker(bin, (broker) => [broker, '--connect-timeout', '0.3', '--ndjson']))

  it.each([
    { args: [], message: 'give the broker URL as first argument or set AMQP_URL' },
    { args: ['amqp://localhost/', 'extra'], message: 'unexpected argument "extra"; see --help' },
    {
      args: ['amqp://localhost/', '--pattern', '('],
      message: '--pattern is not a regular expression: Invalid regular expression: /(/: Unterminated group',
    },
  ])('exits 64 on a usage error: $args', ({ args, message }) => expectUsageError(bin, args, message))
})
