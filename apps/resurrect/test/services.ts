import { type Supervisor, setupDeadLettering } from '@am/bus-core'
import { decode, encode } from '@am/codec'
import { commandProperties, eventProperties, type Handlers, resultProperties, Service } from '@am/service'
import { uniqueName, waitFor } from '@am/testkit'
import { connect } from 'amqplib'
import { onTestFinished } from 'vitest'

/** Ready messages in `queue`. */
export const count = async (bus: Supervisor, queue: string): Promise<number> =>
  (await bus.checkQueue(queue)).messageCount

/**
 * Sends the messages one by one, each once the one before is dead (the service fails on purpose),
 * so that the DLQ holds them in that order; then heals the service.
 */
export async function killAll(bus: Supervisor, world: World, sends: Array<() => Promise<void>>): Promise<void> {
  for (const [index, send] of sends.entries()) {
    await send()
    await waitFor(async () => (await count(bus, world.dlq)) === index + 1, 10_000, `dead letter #${index + 1}`)
  }
  world.failing = false
}

/** A handler call: which handler got which routing key, through which exchange, and how it ended. */
export interface Call {
  handler: 'command' | 'result' | 'event' | 'configuration'
  routingKey: string
  exchange: string
  conversationId: string
  outcome: 'ok' | 'failed'
}

/**
 * A logical service with its queues `<name>.events` and `<name>.commands` dead-lettering to a DLQ
 * of the test's own, the exchange routes to them, and a queue of the requester that collects the
 * results of its commands.
 */
export interface World {
  name: string
  /** The event it subscribes to; `other` (not consumed) subscribes to it too. */
  event: string
  /** The command it serves: `<name>.DoThing`, answered to `replyKey`. */
  command: string
  /** The result key it expects as a requester: `<name>.TaskDone`. */
  result: string
  /** The requester's reply-to key for `command` (`<requester>.ThingDone`) and its queue. */
  replyKey: string
  replies: string
  /** Another logical service's events queue, bound to `event`, with no consumer. */
  other: string
  dlx: string
  dlq: string
  /** Every handler call, in order. */
  calls: Call[]
  /** While true, every handler fails, so every message dies. */
  failing: boolean
  sendCommand(conversationId: string): Promise<void>
  sendResult(conversationId: string): Promise<void>
  publishEvent(conversationId: string): Promise<void>
}

/**
 * The queues, bindings and dead-letter policy of a service, with no consumer: dead letters are
 * made with `kill`.
 */
export async function declareWorld(bus: Supervisor, url: string, prefix: string): Promise<World> {
  const name = uniqueName(prefix)
  const requester = uniqueName('req')
  const world: World = {
    name,
    event: uniqueName('Happened'),
    command: `${name}.DoThing`,
    result: `${name}.TaskDone`,
    replyKey: `${requester}.ThingDone`,
    replies: `${requester}.commands`,
    other: `${uniqueName('other')}.events`,
    dlx: uniqueName('am-res-dlx'),
    dlq: uniqueName('am-res-dlq'),
    calls: [],
    failing: true,
    sendCommand: (conversationId) =>
      bus.publish(
        'commands',
        world.command,
        encode({ n: 1 }),
        commandProperties(conversationId, world.replyKey, 'corr-1'),
      ),
    sendResult: (conversationId) =>
      bus.publish(
        'commands',
        world.result,
        encode({ done: true }),
        resultProperties(conversationId, 'success', 'corr-2'),
      ),
    publishEvent: (conversationId) =>
      bus.publish('events', world.event, encode({ e: 1 }), eventProperties(conversationId)),
  }
  // The dead-letter policy (as in production) on this service's queues only, and the DLQ.
  const policy = await setupDeadLettering(bus, url, {
    exchange: world.dlx,
    queue: world.dlq,
    policyName: world.name,
    pattern: `^${world.name}\\.(events|commands)$`,
  })
  if (policy.policy !== 'applied') throw new Error(`dead-letter policy not applied: ${policy.reason}`)
  await bus.withChannel(async (channel) => {
    await channel.assertExchange('events', 'topic', { durable: true })
    await channel.assertExchange('commands', 'topic', { durable: true })
    await channel.assertQueue(world.replies, { durable: false })
    await channel.bindQueue(world.replies, 'commands', world.replyKey)
    await channel.assertQueue(world.other, { durable: false })
    await channel.bindQueue(world.other, 'events', world.event)
    // The service's own queues, as a service declares them (the policy adds the dead-lettering).
    await channel.assertQueue(`${name}.events`, { durable: true })
    await channel.assertQueue(`${name}.commands`, { durable: true })
    await channel.bindQueue(`${name}.events`, 'events', world.event)
    await channel.bindQueue(`${name}.commands`, 'commands', world.command)
    await channel.bindQueue(`${name}.commands`, 'commands', world.result)
  })
  onTestFinished(async () => {
    await fetch(managementUrl(url, `policies/${vhostOf(url)}/${encodeURIComponent(world.name)}`), {
      method: 'DELETE',
      headers: { authorization: basic(url) },
    })
    await bus.withChannel(async (channel) => {
      for (const queue of [`${name}.events`, `${name}.commands`, world.replies, world.other, world.dlq]) {
        await channel.deleteQueue(queue)
      }
      await channel.deleteExchange(world.dlx)
    })
  })
  return world
}

/**
 * An eventail-like service: a raw amqplib consumer (no `product: 'AM Bus'` client property) that
 * takes the kind from the DELIVERY EXCHANGE, as eventail does: `commands` with a reply-to is a
 * command, without one a result; `events` an event; anything else a configuration, for which it
 * has no handler (dead-lettered, as eventail's missing `on_<key>` method does).
 */
export async function eventailLikeService(bus: Supervisor, url: string): Promise<World> {
  const world = await declareWorld(bus, url, 'eventail')
  const connection = await connect(url)
  onTestFinished(() => connection.close().catch(() => undefined))
  const channel = await connection.createChannel()
  const queues = { events: `${world.name}.events`, commands: `${world.name}.commands` }
  for (const queue of Object.values(queues)) {
    await channel.consume(queue, (message) => {
      if (!message) return
      const { exchange, routingKey } = message.fields
      const handler: Call['handler'] =
        exchange === 'commands'
          ? message.properties.replyTo
            ? 'command'
            : 'result'
          : exchange === 'events'
            ? 'event'
            : 'configuration'
      const ok = handler !== 'configuration' && !world.failing
      const conversationId = String(message.properties.headers?.conversation_id ?? '')
      world.calls.push({ handler, routingKey, exchange, conversationId, outcome: ok ? 'ok' : 'failed' })
      if (!ok) return channel.nack(message, false, false)
      if (handler === 'command') {
        decode(message.content, message.properties.contentType)
        const headers = message.properties.headers ?? {}
        channel.publish(
          'commands',
          message.properties.replyTo,
          encode({ answer: 42 }),
          resultProperties(String(headers.conversation_id), 'success', String(message.properties.correlationId ?? '')),
        )
      }
      channel.ack(message)
    })
  }
  await waitForConsumers(url, [queues.events, queues.commands])
  return world
}

/** An AM Bus service: a real `@am/service` `Service`, whose kind comes from the queue. */
export async function amBusService(bus: Supervisor, url: string): Promise<World> {
  const world = await declareWorld(bus, url, 'ambus')
  const record = (handler: Call['handler'], ctx: { routingKey: string; exchange: string; conversationId: string }) => {
    world.calls.push({
      handler,
      routingKey: ctx.routingKey,
      exchange: ctx.exchange,
      conversationId: ctx.conversationId,
      outcome: world.failing ? 'failed' : 'ok',
    })
    if (world.failing) throw new Error('failing on purpose')
  }
  const handlers: Handlers = {
    events: { [world.event]: (_payload, ctx) => record('event', ctx) },
    commands: {
      [world.command]: async (_payload, ctx) => {
        record('command', ctx)
        await ctx.returnSuccess({ answer: 42 })
      },
    },
    results: { [world.result]: (_payload, ctx) => record('result', ctx) },
  }
  class AmBus extends Service {
    readonly name = world.name
    protected handlers(): Handlers {
      return handlers
    }
  }
  const service = new AmBus({ urls: url, handleSignals: false })
  onTestFinished(() => service.stop())
  await service.start()
  await waitForConsumers(url, [`${world.name}.events`, `${world.name}.commands`])
  return world
}

/** Waits until the management API lists a consumer on each queue (its statistics lag behind). */
async function waitForConsumers(url: string, queues: string[]): Promise<void> {
  for (const queue of queues) {
    await waitFor(
      async () => {
        const response = await fetch(managementUrl(url, `queues/${vhostOf(url)}/${encodeURIComponent(queue)}`), {
          headers: { authorization: basic(url) },
        })
        if (!response.ok) return false
        const details = (await response.json()) as { consumer_details?: unknown[] }
        return (details.consumer_details ?? []).length > 0
      },
      15_000,
      `a consumer on ${queue} in the management API`,
    )
  }
}

function vhostOf(url: string): string {
  const { pathname } = new URL(url)
  return encodeURIComponent(pathname === '' || pathname === '/' ? '/' : decodeURIComponent(pathname.slice(1)))
}

function managementUrl(url: string, path: string): string {
  return `http://${new URL(url).hostname}:15672/api/${path}`
}

function basic(url: string): string {
  const { username, password } = new URL(url)
  return `Basic ${Buffer.from(`${decodeURIComponent(username || 'guest')}:${decodeURIComponent(password || 'guest')}`).toString('base64')}`
}
