import { fileURLToPath } from 'node:url'
import { createSupervisor } from '@am/bus-core'
import { closedPort, runBinary } from '@am/cli-kit/testing'
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

  it('exits 69 when no broker listens, without showing the password', async () => {
    const secret = uniqueName('s3cr3t')
    const run = await runBinary(bin, [
      `amqp://guest:${secret}@127.0.0.1:${await closedPort()}/`,
      '--connect-timeout',
      '0.3',
      '--ndjson',
    ])
    expect(run.code).toBe(69)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/^error: no broker at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/: /)
    expect(run.stdout + run.stderr).not.toContain(secret)
  })

  it.each([[[]], [['amqp://localhost/', 'extra']], [['amqp://localhost/', '--pattern', '(']]])(
    'exits 64 on a usage error: %j',
    async (args) => {
      const run = await runBinary(bin, args)
      expect(run.code).toBe(64)
      expect(run.stderr).toMatch(/^error: /)
    },
  )
})
