import { createSupervisor, type Supervisor } from '@am/bus-core'
import { expectNoBroker, expectRefusedLogin, expectUsageError, runBinary } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { eventProperties } from '@am/protocol'
import { uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { binary, deadLetterRig } from './helpers.js'

const url = inject('amqpUrl')

async function broker(): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url })
  onTestFinished(() => bus.close())
  await bus.ready()
  return bus
}

describe('am-resurrect (built binary)', () => {
  it('replays to the dead queue only, prints NDJSON and exits 0', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await rig.kill([
      { routingKey: 'Key.a', body: encode(1), options: eventProperties('c-a') },
      { routingKey: 'Key.b', body: encode(2), options: eventProperties('c-b') },
    ])
    const run = await runBinary(binary, [
      url,
      rig.dlq,
      '--filter',
      'Key.a',
      'nothing.else',
      '--batch_size',
      '1',
      '--to-queue',
      '--ndjson',
    ])
    expect(run.code).toBe(0)
    expect(run.json()).toEqual([
      {
        action: 'replayed',
        kind: 'other',
        routingKey: 'Key.a',
        exchange: rig.exchange,
        queue: rig.queue,
        to: { exchange: '', routingKey: rig.queue },
        why: `--to-queue: straight into ${rig.queue}, whoever consumes it`,
        conversationId: 'c-a',
      },
      {
        action: 'skipped',
        kind: 'other',
        routingKey: 'Key.b',
        exchange: rig.exchange,
        queue: rig.queue,
        conversationId: 'c-b',
        reason: 'not selected by --filter',
      },
      { summary: { replayed: 1, skipped: 1, failed: 0, left: 0, wouldReplay: 0, stoppedBy: 'count' } },
    ])
    await waitFor(async () => (await bus.checkQueue(rig.queue)).messageCount === 1, 5_000, 'the replay')
    expect((await bus.checkQueue(rig.sibling)).messageCount).toBe(0)
    await waitFor(async () => (await bus.checkQueue(rig.dlq)).messageCount === 1, 5_000, 'Key.b back')
  })

  it('exits 1 when a replay fails, leaving the dead letter in place', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await rig.kill([{ routingKey: 'Key.x', body: encode(1), options: eventProperties('c-x') }])
    await bus.withChannel((channel) => channel.deleteQueue(rig.queue))
    const run = await runBinary(binary, [url, rig.dlq, '--to-queue'])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe(
      `Failed other Key.x (conversation c-x) to queue ${rig.queue}: unroutable: queue ${rig.queue} does not exist any more; left in ${rig.dlq}\nDone: 0 replayed, 0 skipped, 0 left, 1 failed.\n`,
    )
    await waitFor(async () => (await bus.checkQueue(rig.dlq)).messageCount === 1, 5_000, 'the dead letter back')
  })

  it('changes nothing with --dry-run and exits 0', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await rig.kill([{ routingKey: 'Key.d', body: encode(1), options: eventProperties('c-d') }])
    const run = await runBinary(binary, [url, '--dry-run', rig.dlq, '--to-queue', '--ndjson'])
    expect(run.code).toBe(0)
    expect(run.json()).toEqual([
      {
        action: 'would-replay',
        kind: 'other',
        routingKey: 'Key.d',
        exchange: rig.exchange,
        queue: rig.queue,
        to: { exchange: '', routingKey: rig.queue },
        why: `--to-queue: straight into ${rig.queue}, whoever consumes it`,
        conversationId: 'c-d',
      },
      { summary: { replayed: 0, skipped: 0, failed: 0, left: 0, wouldReplay: 1, stoppedBy: 'count' } },
    ])
    await waitFor(async () => (await bus.checkQueue(rig.dlq)).messageCount === 1, 5_000, 'the dead letter back')
    expect((await bus.checkQueue(rig.queue)).messageCount).toBe(0)
  })

  it('exits 1 with a clear message for a DLQ that does not exist', async () => {
    const missing = uniqueName('am-res-missing')
    const run = await runBinary(binary, [url, missing, '--ndjson'])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(`error: queue "${missing}" does not exist on this vhost: check its name\n`)
  })

  it('exits 69 when no broker answers, without the password anywhere', () =>
    expectNoBroker(binary, (broker) => [broker, 'dlq', '--connect-timeout', '0.5']))

  it('exits 69 when the broker refuses the password, without printing it', () =>
    expectRefusedLogin(binary, url, (broker) => [broker, 'dlq']))

  it.each([
    { args: ['amqp://localhost'], message: /missing <dlq>/ },
    { args: ['amqp://localhost', 'dlq', '--batch_size', '0'], message: /--batch-size must be an integer ≥ 1/ },
    { args: ['amqp://localhost', 'dlq', '--what'], message: /Unknown option `--what`/ },
  ])('exits 64 on a usage error: $args', ({ args, message }) => expectUsageError(binary, args, message))

  it('shows help with examples', async () => {
    const help = await runBinary(binary, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('$ am-resurrect [url] <dlq> [--count N] [--batch_size B] [--filter NAME...]')
    expect(help.stdout).toContain(
      'Examples:\n  $ am-resurrect amqp://guest:guest@localhost:5672/ dead_letters --dry-run',
    )
  })
})
