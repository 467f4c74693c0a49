import { createServer } from 'node:net'
import { createSupervisor, type Supervisor } from '@am/bus-core'
import { createMemoryContext, runBinary } from '@am/cli-kit/testing'
import { drain, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { type ResurrectOptions, resurrect } from '../src/commands/resurrect.js'
import { binary } from './helpers.js'
import { amBusService, type Call, count, declareWorld, eventailLikeService, killAll, type World } from './services.js'

const url = inject('amqpUrl')

async function broker(): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: 'am-resurrect-routing-test' })
  onTestFinished(() => bus.close())
  await bus.ready()
  return bus
}

async function run(dlq: string, options: ResurrectOptions = {}) {
  const memory = createMemoryContext()
  const result = await resurrect(memory.ctx, [url, dlq], { ndjson: true, ...options })
  return { result, lines: memory.json() as Array<Record<string, unknown>> }
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

const summary = (counts: Partial<Record<'replayed' | 'skipped' | 'failed' | 'left' | 'wouldReplay', number>>) => ({
  summary: { replayed: 0, skipped: 0, failed: 0, left: 0, wouldReplay: 0, stoppedBy: 'count', ...counts },
})

const ok = (world: World) => world.calls.filter((call) => call.outcome === 'ok')
const sortCalls = (calls: Call[]) => [...calls].sort((a, b) => a.handler.localeCompare(b.handler))

/** The NDJSON line of a message replayed (or to be) through its exchange with its routing key. */
function throughExchange(world: World, kind: 'command' | 'result' | 'event', conversationId: string) {
  const key = { command: world.command, result: world.result, event: world.event }[kind]
  const exchange = kind === 'event' ? 'events' : 'commands'
  return {
    action: 'replayed',
    kind,
    routingKey: key,
    exchange,
    queue: `${world.name}.${exchange}`,
    to: { exchange, routingKey: key },
    why: {
      command: `a command goes back to "commands" with its routing key, which belongs to one logical service`,
      result: `a result goes back to "commands" with its routing key, its requester's reply-to`,
      event: `--rebroadcast: every queue bound to "events" for ${key} gets a copy`,
    }[kind],
    conversationId,
  }
}

describe('am-resurrect with an eventail-like service (kind from the delivery exchange)', () => {
  it('brings a command back to its command handler, and its result reaches the requester', async () => {
    const bus = await broker()
    const world = await eventailLikeService(bus, url)
    await killAll(bus, world, [() => world.sendCommand('c-cmd')])
    const { lines } = await run(world.dlq)
    expect(lines).toEqual([throughExchange(world, 'command', 'c-cmd'), summary({ replayed: 1 })])
    await waitFor(async () => (await count(bus, world.replies)) === 1, 5_000, 'the result')
    const [result] = await drain(bus, world.replies)
    expect([result?.fields.exchange, result?.fields.routingKey, result?.properties.headers]).toEqual([
      'commands',
      world.replyKey,
      { conversation_id: 'c-cmd', status: 'success' },
    ])
    expect(world.calls).toEqual([
      {
        handler: 'command',
        routingKey: world.command,
        exchange: 'commands',
        conversationId: 'c-cmd',
        outcome: 'failed',
      },
      { handler: 'command', routingKey: world.command, exchange: 'commands', conversationId: 'c-cmd', outcome: 'ok' },
    ])
    expect([await count(bus, world.dlq), await count(bus, `${world.name}.commands`)]).toEqual([0, 0])
  })

  it('brings a result back to its result handler', async () => {
    const bus = await broker()
    const world = await eventailLikeService(bus, url)
    await killAll(bus, world, [() => world.sendResult('c-res')])
    const { lines } = await run(world.dlq)
    expect(lines).toEqual([throughExchange(world, 'result', 'c-res'), summary({ replayed: 1 })])
    await waitFor(() => ok(world).length === 1, 5_000, 'the result handled')
    expect(world.calls).toEqual([
      { handler: 'result', routingKey: world.result, exchange: 'commands', conversationId: 'c-res', outcome: 'failed' },
      { handler: 'result', routingKey: world.result, exchange: 'commands', conversationId: 'c-res', outcome: 'ok' },
    ])
    expect(await count(bus, world.dlq)).toBe(0)
  })

  it('leaves an event in the DLQ with the queues --rebroadcast would reach (exit 1); --rebroadcast brings it to its event handler', async () => {
    const bus = await broker()
    const world = await eventailLikeService(bus, url)
    await killAll(bus, world, [() => world.publishEvent('c-ev')])
    expect((await drain(bus, world.other)).length).toBe(1) // the copy the other service got at first
    const queue = `${world.name}.events`
    const reach = [queue, world.other].sort()
    const left = await runBinary(binary, [url, world.dlq])
    expect(left.code).toBe(1)
    expect(left.stdout).toBe(
      `Left event ${world.event} (conversation c-ev) in ${world.dlq}: ${queue} is consumed by services other than AM Bus (amqplib), which take the kind from the delivery exchange: a copy straight into the queue would reach their configuration handler; through "events" it would reach ${reach.join(', ')}: replay with --rebroadcast (every queue bound for it gets a copy) or --to-queue (straight into ${queue})\n` +
        'Done: 0 replayed, 0 skipped, 1 left, 0 failed.\n' +
        `1 left in ${world.dlq}: replay them with --rebroadcast (through their exchange, every bound queue gets a copy) or --to-queue (straight into the queue they died in).\n`,
    )
    await waitFor(async () => (await count(bus, world.dlq)) === 1, 5_000, 'the event back in the DLQ')
    expect(world.calls).toEqual([
      { handler: 'event', routingKey: world.event, exchange: 'events', conversationId: 'c-ev', outcome: 'failed' },
    ])

    const rebroadcast = await runBinary(binary, [url, world.dlq, '--rebroadcast', '--ndjson'])
    expect(rebroadcast.code).toBe(0)
    expect(rebroadcast.json()).toEqual([throughExchange(world, 'event', 'c-ev'), summary({ replayed: 1 })])
    await waitFor(() => ok(world).length === 1, 5_000, 'the event handled')
    expect(ok(world)).toEqual([
      { handler: 'event', routingKey: world.event, exchange: 'events', conversationId: 'c-ev', outcome: 'ok' },
    ])
    await waitFor(async () => (await count(bus, world.other)) === 1, 5_000, 'the copy of the other service')
    expect(await count(bus, world.dlq)).toBe(0)
  })

  it('repairs a command and an event replayed straight into their queue before (the old default)', async () => {
    const bus = await broker()
    const world = await eventailLikeService(bus, url)
    await killAll(bus, world, [() => world.sendCommand('c-1'), () => world.publishEvent('c-2')])
    world.failing = false
    // What the old default did: into the queue through the default exchange. The eventail-like
    // service takes both for configurations, has no handler for them: they die again.
    const wrong = await run(world.dlq, { toQueue: true })
    expect(wrong.result.summary).toEqual(summary({ replayed: 2 }).summary)
    await waitFor(async () => (await count(bus, world.dlq)) === 2, 5_000, 'the dead letters dead again')
    expect(world.calls.slice(2)).toEqual(
      expect.arrayContaining([
        {
          handler: 'configuration',
          routingKey: `${world.name}.commands`,
          exchange: '',
          conversationId: 'c-1',
          outcome: 'failed',
        },
        {
          handler: 'configuration',
          routingKey: `${world.name}.events`,
          exchange: '',
          conversationId: 'c-2',
          outcome: 'failed',
        },
      ]),
    )
    expect(world.calls).toHaveLength(4)
    const dead = await bus.withChannel(async (channel) => {
      const keys: string[] = []
      for (;;) {
        const message = await channel.get(world.dlq)
        if (message === false) return keys
        keys.push(message.fields.routingKey)
      }
    })
    // The queue names, not the original keys (the two die again in any order).
    expect(dead.sort()).toEqual([`${world.name}.commands`, `${world.name}.events`])
    await waitFor(async () => (await count(bus, world.dlq)) === 2, 5_000, 'the dead letters back')

    const { lines } = await run(world.dlq, { rebroadcast: true })
    const [summaryLine, ...reports] = [lines.at(-1), ...lines.slice(0, -1)]
    expect(summaryLine).toEqual(summary({ replayed: 2 }))
    expect(reports.sort((a, b) => String(a.kind).localeCompare(String(b.kind)))).toEqual([
      { ...throughExchange(world, 'command', 'c-1'), repaired: true },
      { ...throughExchange(world, 'event', 'c-2'), repaired: true },
    ])
    await waitFor(() => ok(world).length === 2, 5_000, 'both handled')
    expect(sortCalls(ok(world))).toEqual([
      { handler: 'command', routingKey: world.command, exchange: 'commands', conversationId: 'c-1', outcome: 'ok' },
      { handler: 'event', routingKey: world.event, exchange: 'events', conversationId: 'c-2', outcome: 'ok' },
    ])
    await waitFor(async () => (await count(bus, world.replies)) === 1, 5_000, 'the result')
    await waitFor(async () => (await count(bus, world.other)) === 2, 5_000, 'the first copy and the rebroadcast one')
    expect(await count(bus, world.dlq)).toBe(0)
  })

  it('changes nothing with --dry-run and says where each message would go and why', async () => {
    const bus = await broker()
    const world = await eventailLikeService(bus, url)
    await killAll(bus, world, [() => world.sendCommand('c-1'), () => world.publishEvent('c-2')])
    await drain(bus, world.other)
    const queue = `${world.name}.events`
    const dry = await runBinary(binary, [url, world.dlq, '--dry-run', '--ndjson'])
    expect(dry.code).toBe(1) // the event would be left
    expect(dry.json()).toEqual([
      { ...throughExchange(world, 'command', 'c-1'), action: 'would-replay' },
      {
        action: 'left',
        kind: 'event',
        routingKey: world.event,
        exchange: 'events',
        queue,
        wouldReach: [queue, world.other].sort(),
        conversationId: 'c-2',
        reason: expect.stringMatching(/^\S+ is consumed by services other than AM Bus \(amqplib\)/),
      },
      summary({ left: 1, wouldReplay: 1 }),
    ])
    await waitFor(async () => (await count(bus, world.dlq)) === 2, 5_000, 'the dead letters back')
    expect((await drain(bus, world.dlq)).map((m) => m.properties.headers?.conversation_id)).toEqual(['c-1', 'c-2'])
    expect(world.calls).toHaveLength(2) // the two first failures, nothing since
    expect([await count(bus, world.other), await count(bus, world.replies)]).toEqual([0, 0])
  })
})

describe('am-resurrect with an AM Bus service (kind from the queue)', () => {
  it('brings a command, a result and an event back to their handlers by default', async () => {
    const bus = await broker()
    const world = await amBusService(bus, url)
    await killAll(bus, world, [
      () => world.sendCommand('c-cmd'),
      () => world.sendResult('c-res'),
      () => world.publishEvent('c-ev'),
    ])
    await drain(bus, world.other)
    const queue = `${world.name}.events`
    const { lines, result } = await run(world.dlq)
    expect(lines).toEqual([
      throughExchange(world, 'command', 'c-cmd'),
      throughExchange(world, 'result', 'c-res'),
      {
        action: 'replayed',
        kind: 'event',
        routingKey: world.event,
        exchange: 'events',
        queue,
        to: { exchange: '', routingKey: queue },
        why: `${queue} is consumed by AM Bus services only (1 consumer), which take the kind from the queue`,
        conversationId: 'c-ev',
      },
      summary({ replayed: 3 }),
    ])
    expect(result.summary.left).toBe(0)
    await waitFor(() => ok(world).length === 3, 5_000, 'the three handled')
    expect(sortCalls(ok(world))).toEqual([
      { handler: 'command', routingKey: world.command, exchange: 'commands', conversationId: 'c-cmd', outcome: 'ok' },
      { handler: 'event', routingKey: world.event, exchange: '', conversationId: 'c-ev', outcome: 'ok' },
      { handler: 'result', routingKey: world.result, exchange: 'commands', conversationId: 'c-res', outcome: 'ok' },
    ])
    // Each failed twice (requeued once, then dead-lettered) before.
    expect(world.calls.filter((call) => call.outcome === 'failed')).toHaveLength(6)
    await waitFor(async () => (await count(bus, world.replies)) === 1, 5_000, 'the result of the command')
    expect([await count(bus, world.dlq), await count(bus, world.other)]).toEqual([0, 0]) // no copy elsewhere
  })

  it('sends an event through events with --rebroadcast, and into the queue with --to-queue', async () => {
    const bus = await broker()
    const world = await amBusService(bus, url)
    await killAll(bus, world, [() => world.publishEvent('c-1'), () => world.sendCommand('c-2')])
    await drain(bus, world.other)
    const wide = await run(world.dlq, { rebroadcast: true, count: 1 })
    expect(wide.lines).toEqual([throughExchange(world, 'event', 'c-1'), summary({ replayed: 1 })])
    await waitFor(() => ok(world).length === 1, 5_000, 'the event handled')
    await waitFor(async () => (await count(bus, world.other)) === 1, 5_000, 'the copy of the other service')
    const direct = await run(world.dlq, { toQueue: true })
    const queue = `${world.name}.commands`
    expect(direct.lines).toEqual([
      {
        action: 'replayed',
        kind: 'command',
        routingKey: world.command,
        exchange: 'commands',
        queue,
        to: { exchange: '', routingKey: queue },
        why: `--to-queue: straight into ${queue}, whoever consumes it`,
        conversationId: 'c-2',
      },
      summary({ replayed: 1 }),
    ])
    await waitFor(() => ok(world).length === 2, 5_000, 'the command handled')
    expect(ok(world)).toEqual([
      { handler: 'event', routingKey: world.event, exchange: 'events', conversationId: 'c-1', outcome: 'ok' },
      { handler: 'command', routingKey: world.command, exchange: '', conversationId: 'c-2', outcome: 'ok' },
    ])
    await waitFor(async () => (await count(bus, world.replies)) === 1, 5_000, 'the result')
    expect(await count(bus, world.dlq)).toBe(0)
  })

  it('changes nothing with --dry-run', async () => {
    const bus = await broker()
    const world = await amBusService(bus, url)
    await killAll(bus, world, [() => world.publishEvent('c-1'), () => world.sendResult('c-2')])
    await drain(bus, world.other)
    const queue = `${world.name}.events`
    const { lines } = await run(world.dlq, { dryRun: true })
    expect(lines).toEqual([
      {
        action: 'would-replay',
        kind: 'event',
        routingKey: world.event,
        exchange: 'events',
        queue,
        to: { exchange: '', routingKey: queue },
        why: `${queue} is consumed by AM Bus services only (1 consumer), which take the kind from the queue`,
        conversationId: 'c-1',
      },
      { ...throughExchange(world, 'result', 'c-2'), action: 'would-replay' },
      summary({ wouldReplay: 2 }),
    ])
    await waitFor(async () => (await count(bus, world.dlq)) === 2, 5_000, 'the dead letters back')
    const memory = createMemoryContext()
    await resurrect(memory.ctx, [url, world.dlq], { dryRun: true })
    expect(memory.messages.map((m) => m.text)).toEqual([
      `Would replay event ${world.event} (conversation c-1) to queue ${queue}: ${queue} is consumed by AM Bus services only (1 consumer), which take the kind from the queue`,
      `Would replay result ${world.result} (conversation c-2) to exchange "commands" with routing key ${world.result}: a result goes back to "commands" with its routing key, its requester's reply-to`,
      'Done: 0 replayed, 0 skipped, 0 left, 0 failed, 2 would be replayed (dry run: nothing changed).',
    ])
    await waitFor(async () => (await count(bus, world.dlq)) === 2, 5_000, 'the dead letters back again')
    expect((await drain(bus, world.dlq)).map((m) => m.properties.headers?.conversation_id)).toEqual(['c-1', 'c-2'])
    expect(world.calls).toHaveLength(4) // the failures before, nothing since
  })
})

describe('am-resurrect when the copy is not confirmed', () => {
  /** A service queue without consumer whose command dies once. */
  async function deadCommand(bus: Supervisor): Promise<World> {
    const world = await declareWorld(bus, url, 'bare')
    await world.sendCommand('c-x')
    await bus.withChannel(async (channel) => {
      const message = await waitFor(() => channel.get(`${world.name}.commands`), 5_000, 'the command')
      channel.nack(message, false, false)
    })
    await waitFor(async () => (await count(bus, world.dlq)) === 1, 5_000, 'the dead letter')
    return world
  }

  it('leaves the dead letter and exits 1 when the copy is returned (nothing bound for its key any more)', async () => {
    const bus = await broker()
    const world = await deadCommand(bus)
    await bus.withChannel((channel) => channel.unbindQueue(`${world.name}.commands`, 'commands', world.command))
    const run = await runBinary(binary, [url, world.dlq])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe(
      `Failed command ${world.command} (conversation c-x) to exchange "commands" with routing key ${world.command}: unroutable: no queue is bound to exchange "commands" for ${world.command}; left in ${world.dlq}\n` +
        'Done: 0 replayed, 0 skipped, 0 left, 1 failed.\n',
    )
    await waitFor(async () => (await count(bus, world.dlq)) === 1, 5_000, 'the dead letter back')
    expect(await count(bus, `${world.name}.commands`)).toBe(0)
  })

  it('leaves the dead letter and exits 1 when the copy is nacked (queue full, reject-publish)', async () => {
    const bus = await broker()
    const world = await deadCommand(bus)
    const queue = `${world.name}.commands`
    await bus.withChannel(async (channel) => {
      await channel.deleteQueue(queue)
      await channel.assertQueue(queue, {
        durable: true,
        arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
      })
      await channel.bindQueue(queue, 'commands', world.command)
    })
    const run = await runBinary(binary, [url, world.dlq, '--ndjson'])
    expect(run.code).toBe(1)
    expect(run.json()).toEqual([
      {
        ...throughExchange(world, 'command', 'c-x'),
        action: 'failed',
        reason: `the broker refused the copy (nack): is a queue bound for ${world.command} full with reject-publish?`,
      },
      summary({ failed: 1 }),
    ])
    await waitFor(async () => (await count(bus, world.dlq)) === 1, 5_000, 'the dead letter back')
    expect(await count(bus, queue)).toBe(0)
  })
})

describe('am-resurrect when it cannot tell who consumes the queue of an event', () => {
  /** A service queue without consumer whose event dies once. */
  async function deadEvent(bus: Supervisor): Promise<World> {
    const world = await declareWorld(bus, url, 'bare')
    await world.publishEvent('c-e')
    await bus.withChannel(async (channel) => {
      const message = await waitFor(() => channel.get(`${world.name}.events`), 5_000, 'the event')
      channel.nack(message, false, false)
    })
    await waitFor(async () => (await count(bus, world.dlq)) === 1, 5_000, 'the dead letter')
    await drain(bus, world.other)
    return world
  }
  const how = (queue: string) =>
    `replay with --rebroadcast (every queue bound for it gets a copy) or --to-queue (straight into ${queue})`

  it('leaves it when nobody consumes the queue, with the queues a copy through events would reach', async () => {
    const bus = await broker()
    const world = await deadEvent(bus)
    const queue = `${world.name}.events`
    const { lines } = await run(world.dlq)
    expect(lines).toEqual([
      {
        action: 'left',
        kind: 'event',
        routingKey: world.event,
        exchange: 'events',
        queue,
        wouldReach: [queue, world.other].sort(),
        conversationId: 'c-e',
        reason: `${queue} has no consumer: cannot tell whether its service takes the kind from the queue (AM Bus) or from the delivery exchange (eventail, which would take a copy straight into the queue for a configuration); through "events" it would reach ${[queue, world.other].sort().join(', ')}: ${how(queue)}`,
      },
      summary({ left: 1 }),
    ])
    await waitFor(async () => (await count(bus, world.dlq)) === 1, 5_000, 'the event back in the DLQ')
    expect([await count(bus, queue), await count(bus, world.other)]).toEqual([0, 0])
  })

  it('leaves it when the management API does not answer, says how to fix it, and never prints its password', async () => {
    const bus = await broker()
    const world = await deadEvent(bus)
    const queue = `${world.name}.events`
    const port = await closedPort()
    const run = await runBinary(binary, [
      url,
      world.dlq,
      '--management-url',
      `http://admin:s3cret-pw@127.0.0.1:${port}`,
    ])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe(
      `Left event ${world.event} (conversation c-e) in ${world.dlq}: cannot tell who consumes ${queue}: the management API at http://127.0.0.1:${port}/ does not answer (ECONNREFUSED); give --management-url http://user:pass@host:15672, or ${how(queue)}\n` +
        'Done: 0 replayed, 0 skipped, 1 left, 0 failed.\n' +
        `1 left in ${world.dlq}: replay them with --rebroadcast (through their exchange, every bound queue gets a copy) or --to-queue (straight into the queue they died in).\n`,
    )
    expect(run.stdout + run.stderr).not.toContain('s3cret-pw')
    await waitFor(async () => (await count(bus, world.dlq)) === 1, 5_000, 'the event back in the DLQ')
  })

  it('leaves it when the management API refuses the login', async () => {
    const bus = await broker()
    const world = await deadEvent(bus)
    const management = `http://guest:not-the-password@${new URL(url).hostname}:15672`
    const { lines } = await run(world.dlq, { managementUrl: management })
    expect(lines.map((line) => line.reason ?? line.summary)).toEqual([
      `cannot tell who consumes ${world.name}.events: the management API at http://${new URL(url).hostname}:15672/ refused the login (401); give --management-url http://user:pass@host:15672, or ${how(`${world.name}.events`)}`,
      summary({ left: 1 }).summary,
    ])
    expect(JSON.stringify(lines)).not.toContain('not-the-password')
    await waitFor(async () => (await count(bus, world.dlq)) === 1, 5_000, 'the event back in the DLQ')
  })
})
