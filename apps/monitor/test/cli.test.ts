import { createSupervisor } from '@am/bus-core'
import { expectNoBroker, expectRefusedLogin, expectUsageError, runBinary, startBinary } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { eventProperties } from '@am/protocol'
import { uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { binary } from './helpers.js'

const url = inject('amqpUrl')

describe('am-monitor (built binary)', () => {
  it('prints NDJSON only on stdout and exits 0 after --count messages', async () => {
    const key = uniqueName('MonCli')
    const started = startBinary(binary, [url, '--events', key, `${key}.*`, '--count', '2', '--ndjson'])
    onTestFinished(() => void started.child.kill('SIGKILL'))
    await waitFor(() => started.stderr().includes('Monitoring'), 10_000, 'the monitor to start')
    await using bus = createSupervisor({ urls: url })
    await bus.ready()
    await bus.publish('events', key, encode({ n: 1 }), eventProperties('conv-cli'))
    await bus.publish('events', `${key}.sub`, Buffer.from('{"n":2}'), {
      ...eventProperties('conv-cli'),
      contentType: 'application/json',
    })
    const run = await started.exited
    expect(run.code).toBe(0)
    expect(run.json()).toEqual([
      {
        kind: 'event',
        exchange: 'events',
        routingKey: key,
        conversationId: 'conv-cli',
        correlationId: '',
        replyTo: '',
        status: '',
        contentType: 'application/cbor',
        headers: {},
        payload: { n: 1 },
      },
      {
        kind: 'event',
        exchange: 'events',
        routingKey: `${key}.sub`,
        conversationId: 'conv-cli',
        correlationId: '',
        replyTo: '',
        status: '',
        contentType: 'application/json',
        headers: {},
        payload: { n: 2 },
      },
    ])
  })

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'exits 0 promptly on %s when only configurations are watched (eventail B7)',
    async (signal) => {
      const started = startBinary(binary, [url, '--configurations', uniqueName('MonSig')])
      onTestFinished(() => void started.child.kill('SIGKILL'))
      await waitFor(() => started.stdout().includes('Monitoring'), 10_000, 'the monitor to start')
      const sent = Date.now()
      started.child.kill(signal)
      const run = await started.exited
      expect(run.code).toBe(0)
      expect(Date.now() - sent).toBeLessThan(1_500)
    },
  )

  it('exits 69 when no broker answers, without the password anywhere', () =>
    expectNoBroker(binary, (broker) => [broker, '--events', '#', '--connect-timeout', '0.5']))

  it('exits 69 when the broker refuses the password, without printing it', () =>
    expectRefusedLogin(binary, url, (broker) => [broker, '--events', '#']))

  it.each([
    { args: ['amqp://localhost'], message: /nothing to monitor/ },
    { args: ['amqp://localhost', '--events', '#', '--bogus'], message: /Unknown option `--bogus`/ },
    { args: ['--events', '#'], message: /give the broker URL as first argument or set AMQP_URL/ },
    { args: ['amqp://localhost', '--events', '#', '--count', 'x'], message: /--count must be an integer/ },
  ])('exits 64 on a usage error: $args', ({ args, message }) => expectUsageError(binary, args, message))

  it('shows help with examples and the version', async () => {
    const help = await runBinary(binary, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('$ am-monitor [url] [--events P...]')
    expect(help.stdout).toContain('--filter-fields <field=value>')
    expect(help.stdout).toContain('Examples:\n  $ am-monitor amqp://guest:guest@localhost:5672/ --events "#"')
    const version = await runBinary(binary, ['--version'])
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })
})
