import { createSupervisor } from '@am/bus-core'
import { expectNoBroker, expectRefusedLogin, expectUsageError, runBinary } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { eventProperties } from '@am/protocol'
import { uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { binary, queueWith } from './helpers.js'

const url = inject('amqpUrl')

describe('am-inspect-queue (built binary)', () => {
  it('prints one NDJSON object per message, exits 0 and leaves the queue as it was', async () => {
    const bus = createSupervisor({ urls: url })
    onTestFinished(() => bus.close())
    await bus.ready()
    const queue = await queueWith(bus, [
      { body: encode({ n: 1 }), options: eventProperties('conv-1') },
      { body: Buffer.from('{"n":2}'), options: { ...eventProperties('conv-2'), contentType: 'application/json' } },
    ])
    const run = await runBinary(binary, [url, queue, '--ndjson'])
    expect(run.code).toBe(0)
    expect(run.json()).toEqual([
      {
        index: 1,
        exchange: '',
        routingKey: queue,
        redelivered: false,
        properties: { contentType: 'application/cbor', deliveryMode: 2, correlationId: '', replyTo: '' },
        headers: { conversation_id: 'conv-1' },
        payload: { n: 1 },
      },
      {
        index: 2,
        exchange: '',
        routingKey: queue,
        redelivered: false,
        properties: { contentType: 'application/json', deliveryMode: 2, correlationId: '', replyTo: '' },
        headers: { conversation_id: 'conv-2' },
        payload: { n: 2 },
      },
    ])
    expect(run.stderr).toContain('2 messages of')
    await waitFor(async () => (await bus.checkQueue(queue)).messageCount === 2, 5_000, 'the messages back')
  })

  it('exits 1 with a clear message for a queue that does not exist', async () => {
    const missing = uniqueName('am-inspect-missing')
    const run = await runBinary(binary, [url, missing])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(`error: queue "${missing}" does not exist on this vhost: check its name\n`)
  })

  it('exits 69 when no broker answers, without the password anywhere', () =>
    expectNoBroker(binary, (broker) => [broker, 'q', '--connect-timeout', '0.5']))

  it('exits 69 when the broker refuses the password, without printing it', () =>
    expectRefusedLogin(binary, url, (broker) => [broker, 'q']))

  it.each([
    { args: ['amqp://localhost'], message: /missing <queue>/ },
    { args: ['amqp://localhost', 'q', '--count', 'lots'], message: /--count must be an integer/ },
    { args: ['amqp://localhost', 'q', '--nope'], message: /Unknown option `--nope`/ },
  ])('exits 64 on a usage error: $args', ({ args, message }) => expectUsageError(binary, args, message))

  it('shows help with examples', async () => {
    const help = await runBinary(binary, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('$ am-inspect-queue [url] <queue> [--count N]')
    expect(help.stdout).toContain('Examples:\n  $ am-inspect-queue amqp://guest:guest@localhost:5672/ dead_letters')
  })
})
