import { createSupervisor, type Supervisor } from '@am/bus-core'
import { createMemoryContext } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { commandProperties, eventProperties } from '@am/protocol'
import { drain, uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { fingerprint, type ResurrectOptions, resurrect } from '../src/commands/resurrect.js'
import { deadLetterRig } from './helpers.js'

const url = inject('amqpUrl')

async function broker(): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: 'am-resurrect-test' })
  onTestFinished(() => bus.close())
  await bus.ready()
  return bus
}

async function run(dlq: string, options: ResurrectOptions = {}) {
  const memory = createMemoryContext()
  const result = await resurrect(memory.ctx, [url, dlq], { ndjson: true, ...options })
  const lines = memory.json() as Array<Record<string, unknown>>
  return { result, lines, memory }
}

const count = async (bus: Supervisor, queue: string) => (await bus.checkQueue(queue)).messageCount
const keysOf = (messages: Array<{ fields: { routingKey: string } }>) => messages.map((m) => m.fields.routingKey)

describe('resurrect', () => {
  it('replays a dead letter to the queue it died in only, with its properties, acked after the confirm', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    const properties = {
      ...commandProperties('conv-r', 'me.Done', 'corr-r'),
      messageId: 'msg-1',
      timestamp: 1_700_000_000,
      headers: { conversation_id: 'conv-r', custom: 'kept' },
    }
    await rig.kill([{ routingKey: 'Key.one', body: encode({ a: 1 }), options: properties }])
    const { result, lines } = await run(rig.dlq, { toQueue: true })
    expect(lines).toEqual([
      {
        action: 'replayed',
        kind: 'other',
        routingKey: 'Key.one',
        exchange: rig.exchange,
        queue: rig.queue,
        to: { exchange: '', routingKey: rig.queue },
        why: `--to-queue: straight into ${rig.queue}, whoever consumes it`,
        conversationId: 'conv-r',
      },
      { summary: { replayed: 1, skipped: 0, failed: 0, left: 0, wouldReplay: 0, stoppedBy: 'count' } },
    ])
    expect(result.summary.replayed).toBe(1)
    await waitFor(async () => (await count(bus, rig.queue)) === 1, 5_000, 'the replayed copy')
    expect(await count(bus, rig.sibling)).toBe(0) // not re-broadcast on the exchange (T6, docs/eventail-defects.md)
    expect(await count(bus, rig.dlq)).toBe(0)
    const [copy] = await drain(bus, rig.queue)
    expect(copy?.fields).toMatchObject({ exchange: '', routingKey: rig.queue, redelivered: false })
    expect(copy?.content).toEqual(encode({ a: 1 }))
    expect(copy?.properties).toMatchObject({
      contentType: 'application/cbor',
      deliveryMode: 2,
      correlationId: 'corr-r',
      replyTo: 'me.Done',
      messageId: 'msg-1',
      timestamp: 1_700_000_000,
      headers: { conversation_id: 'conv-r', custom: 'kept' },
    })
    // death headers kept (as eventail does): a service finds the original routing key in x-death
    expect(Object.keys(copy?.properties.headers ?? {}).filter((key) => key.startsWith('x-'))).toEqual([
      'x-death',
      'x-first-death-exchange',
      'x-first-death-queue',
      'x-first-death-reason',
    ])
  })

  it('leaves messages not selected by --filter in the DLQ, in order, and never holds the run up', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    const keys = ['Key.a', 'Key.b.x', 'Key.c', 'Key.b.y', 'Key.d']
    await rig.kill(keys.map((routingKey) => ({ routingKey, body: encode(routingKey), options: eventProperties('c') })))
    const { lines } = await run(rig.dlq, { filter: ['Key.b.*', 'Key.d'], batchSize: 1, toQueue: true })
    expect(lines.map((line) => [line.action, line.routingKey, line.reason])).toEqual([
      ['skipped', 'Key.a', 'not selected by --filter'],
      ['replayed', 'Key.b.x', undefined],
      ['skipped', 'Key.c', 'not selected by --filter'],
      ['replayed', 'Key.b.y', undefined],
      ['replayed', 'Key.d', undefined],
      [undefined, undefined, undefined],
    ])
    expect(lines.at(-1)).toEqual({
      summary: { replayed: 3, skipped: 2, failed: 0, left: 0, wouldReplay: 0, stoppedBy: 'count' },
    })
    await waitFor(async () => (await count(bus, rig.dlq)) === 2, 5_000, 'the skipped messages back')
    expect(keysOf(await drain(bus, rig.dlq))).toEqual(['Key.a', 'Key.c'])
    expect(keysOf(await drain(bus, rig.queue))).toEqual([rig.queue, rig.queue, rig.queue])
  })

  it('changes nothing with --dry-run', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await rig.kill([
      { routingKey: 'Key.1', body: encode(1), options: eventProperties('c1') },
      { routingKey: 'Key.2', body: encode(2), options: eventProperties('c2') },
    ])
    const { lines } = await run(rig.dlq, { dryRun: true, toQueue: true })
    const would = (routingKey: string, conversationId: string) => ({
      action: 'would-replay',
      kind: 'other',
      routingKey,
      exchange: rig.exchange,
      queue: rig.queue,
      to: { exchange: '', routingKey: rig.queue },
      why: `--to-queue: straight into ${rig.queue}, whoever consumes it`,
      conversationId,
    })
    expect(lines).toEqual([
      would('Key.1', 'c1'),
      would('Key.2', 'c2'),
      { summary: { replayed: 0, skipped: 0, failed: 0, left: 0, wouldReplay: 2, stoppedBy: 'count' } },
    ])
    await waitFor(async () => (await count(bus, rig.dlq)) === 2, 5_000, 'the dead letters back')
    expect(await count(bus, rig.queue)).toBe(0)
    expect(keysOf(await drain(bus, rig.dlq))).toEqual(['Key.1', 'Key.2'])
  })

  it('does not replay twice a message that dies again during the run', async () => {
    const bus = await broker()
    // Every message dies on arrival in this queue, replayed copies included.
    const rig = await deadLetterRig(bus, { 'x-message-ttl': 0 })
    await rig.kill([{ routingKey: 'Key.doomed', body: encode('again'), options: eventProperties('c-doomed') }])
    const [original] = await bus.withChannel(async (channel) => {
      const message = await channel.get(rig.dlq)
      return [message] as const
    })
    const { lines, result } = await run(rig.dlq, { count: 10, batchSize: 1, toQueue: true })
    expect(result.summary.replayed).toBe(1)
    expect(lines.filter((line) => line.action === 'replayed')).toHaveLength(1)
    expect(result.summary.stoppedBy).toBe('seen')
    expect(lines.at(-2)).toMatchObject({
      action: 'skipped',
      reason: 'same as a message already replayed in this run: it died again (or is a duplicate)',
    })
    await waitFor(async () => (await count(bus, rig.dlq)) === 1, 5_000, 'the message dead again')
    const [again] = await drain(bus, rig.dlq)
    expect(again?.properties.headers?.['x-death']).toMatchObject([{ reason: 'expired', queue: rig.queue, count: 2 }])
    // The fingerprint that stops the run ignores the death headers that differ between the two.
    if (!original || !again) throw new Error('missing messages')
    expect(again.fields.routingKey).toBe(rig.queue) // replayed through the default exchange
    expect(fingerprint(again, rig.queue)).toBe(fingerprint(original, rig.queue))
  })

  it('republishes to the original exchange and routing key with --rebroadcast', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await rig.kill([{ routingKey: 'Key.wide', body: encode('w'), options: eventProperties('c-wide') }])
    const { lines } = await run(rig.dlq, { rebroadcast: true })
    expect(lines[0]).toEqual({
      action: 'replayed',
      kind: 'other',
      routingKey: 'Key.wide',
      exchange: rig.exchange,
      queue: rig.queue,
      to: { exchange: rig.exchange, routingKey: 'Key.wide' },
      why: `--rebroadcast: every queue bound to "${rig.exchange}" for Key.wide gets a copy`,
      conversationId: 'c-wide',
    })
    await waitFor(async () => (await count(bus, rig.sibling)) === 1, 5_000, 'the sibling copy')
    const [copy] = await drain(bus, rig.queue)
    expect(copy?.fields).toMatchObject({ exchange: rig.exchange, routingKey: 'Key.wide' })
  })

  it('leaves a message without death information in place and reports it', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await bus.publish('', rig.dlq, encode('lost'), eventProperties('c-nodeath'))
    const { lines } = await run(rig.dlq)
    expect(lines[0]).toEqual({
      action: 'skipped',
      kind: null,
      routingKey: rig.dlq,
      exchange: null,
      queue: null,
      conversationId: 'c-nodeath',
      reason: 'no death information (x-death, x-first-death-queue): it did not die in a queue',
    })
    await waitFor(async () => (await count(bus, rig.dlq)) === 1, 5_000, 'the message back')
  })

  it('counts an unroutable replay as failed and leaves the dead letter in place', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await rig.kill([
      { routingKey: 'Key.gone', body: encode(1), options: eventProperties('c1') },
      { routingKey: 'Key.gone', body: encode(2), options: eventProperties('c2') },
    ])
    await bus.withChannel((channel) => channel.deleteQueue(rig.queue))
    const { lines, result } = await run(rig.dlq, { toQueue: true })
    expect(lines.slice(0, 2)).toEqual([
      {
        action: 'failed',
        kind: 'other',
        routingKey: 'Key.gone',
        exchange: rig.exchange,
        queue: rig.queue,
        to: { exchange: '', routingKey: rig.queue },
        why: `--to-queue: straight into ${rig.queue}, whoever consumes it`,
        conversationId: 'c1',
        reason: `unroutable: queue ${rig.queue} does not exist any more`,
      },
      expect.objectContaining({ action: 'failed', conversationId: 'c2' }),
    ])
    expect(result.summary).toMatchObject({ replayed: 0, failed: 2 })
    await waitFor(async () => (await count(bus, rig.dlq)) === 2, 5_000, 'the dead letters back')
    const dry = await run(rig.dlq, { dryRun: true, toQueue: true })
    expect(dry.lines[0]).toMatchObject({ action: 'failed', reason: `queue ${rig.queue} does not exist any more` })
  })

  it('processes at most --count messages, in batches', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await rig.kill(
      [1, 2, 3, 4, 5].map((n) => ({ routingKey: `Key.${n}`, body: encode(n), options: eventProperties('c') })),
    )
    const { result } = await run(rig.dlq, { count: 3, batchSize: 2, toQueue: true })
    expect(result.summary).toEqual({
      replayed: 3,
      skipped: 0,
      failed: 0,
      left: 0,
      wouldReplay: 0,
      stoppedBy: 'count',
    })
    await waitFor(async () => (await count(bus, rig.queue)) === 3, 5_000, 'three replays')
    expect(keysOf(await drain(bus, rig.dlq))).toEqual(['Key.4', 'Key.5'])
  })

  it('says so on an empty DLQ and fails clearly on a missing one', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    const empty = await run(rig.dlq)
    expect(empty.lines).toEqual([
      { summary: { replayed: 0, skipped: 0, failed: 0, left: 0, wouldReplay: 0, stoppedBy: 'count' } },
    ])
    expect(empty.memory.messages.map((m) => m.text)).toContain(`Queue ${rig.dlq} is empty: nothing to resurrect.`)
    const missing = uniqueName('am-res-missing')
    await expect(run(missing)).rejects.toMatchObject({ code: 'CLI_FAILED', exitCode: 1 })
  })

  it('prints one line per message and a summary by default', async () => {
    const bus = await broker()
    const rig = await deadLetterRig(bus)
    await rig.kill([
      { routingKey: 'Key.h', body: encode(1), options: eventProperties('conv-h') },
      { routingKey: 'Key.skip', body: encode(2), options: eventProperties('conv-s') },
    ])
    const memory = createMemoryContext()
    await resurrect(memory.ctx, [url, rig.dlq], { filter: 'Key.h', toQueue: true })
    expect(memory.messages.map((m) => m.text)).toEqual([
      `Replayed other Key.h (conversation conv-h) to queue ${rig.queue}: --to-queue: straight into ${rig.queue}, whoever consumes it`,
      `Skipped other Key.skip (conversation conv-s): not selected by --filter; left in ${rig.dlq}`,
      'Done: 1 replayed, 1 skipped, 0 left, 0 failed.',
    ])
    expect(memory.stdout()).toBe('')
  })
})
