import { createSupervisor, type PublishOptions, type Supervisor } from '@am/bus-core'
import { encode } from '@am/codec'
import { commandProperties, eventProperties } from '@am/protocol'
import { uniqueName, waitFor } from '@am/testkit'
import { onTestFinished } from 'vitest'

/** A supervisor for the test, closed after it. */
export async function testBus(url: string): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: 'am-console-test' })
  onTestFinished(() => bus.close())
  await bus.ready()
  return bus
}

/**
 * A logical service `<svc>` with `<svc>.events` and `<svc>.commands` dead-lettering (queue
 * arguments) to a DLX and a DLQ of the test's own, no consumer; `kill` makes dead letters in order.
 */
export interface World {
  service: string
  dlx: string
  dlq: string
  events: string
  commands: string
  /** Routing key of its command and of its event. */
  command: string
  event: string
  replyTo: string
  /** Sends a command (or event, or raw message) to the service and rejects it: it lands in the DLQ. */
  killCommand(conversationId: string, payload?: unknown): Promise<void>
  killEvent(conversationId: string, payload?: unknown): Promise<void>
  killRaw(queue: 'events' | 'commands', routingKey: string, body: Buffer, options: PublishOptions): Promise<void>
  /** Ready messages of a queue. */
  count(queue: string): Promise<number>
}

export async function declareWorld(bus: Supervisor, prefix = 'con'): Promise<World> {
  const service = uniqueName(prefix)
  const world = {
    service,
    dlx: uniqueName('am-con-dlx'),
    dlq: uniqueName('am-con-dlq'),
    events: `${service}.events`,
    commands: `${service}.commands`,
    command: `${service}.DoThing`,
    event: uniqueName('Happened'),
    replyTo: `${uniqueName('req')}.ThingDone`,
  }
  await bus.withChannel(async (channel) => {
    await channel.assertExchange('events', 'topic', { durable: true })
    await channel.assertExchange('commands', 'topic', { durable: true })
    await channel.assertExchange(world.dlx, 'topic', { durable: false })
    await channel.assertQueue(world.dlq, { durable: false })
    await channel.bindQueue(world.dlq, world.dlx, '#')
    for (const queue of [world.events, world.commands]) {
      await channel.assertQueue(queue, { durable: false, arguments: { 'x-dead-letter-exchange': world.dlx } })
    }
    await channel.bindQueue(world.events, 'events', world.event)
    await channel.bindQueue(world.commands, 'commands', world.command)
  })
  onTestFinished(async () => {
    await bus.withChannel(async (channel) => {
      for (const queue of [world.events, world.commands, world.dlq]) await channel.deleteQueue(queue)
      await channel.deleteExchange(world.dlx)
    })
  })
  const count = async (queue: string): Promise<number> => (await bus.checkQueue(queue)).messageCount
  const killRaw = async (
    kind: 'events' | 'commands',
    routingKey: string,
    body: Buffer,
    options: PublishOptions,
  ): Promise<void> => {
    const before = await count(world.dlq)
    const queue = kind === 'events' ? world.events : world.commands
    await bus.publish(kind, routingKey, body, options)
    await bus.withChannel(async (channel) => {
      const message = await waitFor(() => channel.get(queue), 5_000, `the message in ${queue}`)
      channel.nack(message, false, false)
    })
    await waitFor(async () => (await count(world.dlq)) === before + 1, 5_000, 'the dead letter')
  }
  return {
    ...world,
    count,
    killRaw,
    killCommand: (conversationId, payload = { n: 1 }) =>
      killRaw('commands', world.command, encode(payload), commandProperties(conversationId, world.replyTo, 'corr-1')),
    killEvent: (conversationId, payload = { e: 1 }) =>
      killRaw('events', world.event, encode(payload), eventProperties(conversationId)),
  }
}
