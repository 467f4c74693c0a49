import { createSupervisor, type Delivery, defineTopology, type PublishOptions, type Supervisor } from '@am/bus-core'
import { decode, encode } from '@am/codec'
import type { ServiceOptions } from '@am/service'
import { uniqueName, waitFor } from '@am/testkit'
import { inject, onTestFinished } from 'vitest'

/** The broker of these tests: a vhost of their own (see `@am/testkit/own-vhost`). */
export const url: string = inject('amqpUrl')

/** The durable queues the examples declare. */
export const EXAMPLE_QUEUES: readonly string[] = ['pong.commands', 'ping.commands', 'relay.events', 'speaker.events']

/** Starts a service and, after the test, stops it and deletes its queues (and what they hold). */
export async function run<S extends { readonly name: string; start(): Promise<void>; stop(): Promise<void> }>(
  make: (options: ServiceOptions) => S,
): Promise<S> {
  const service = make({ urls: url, handleSignals: false, stopTimeoutMs: 2_000 })
  onTestFinished(async () => {
    await service.stop()
    await deleteQueues([`${service.name}.events`, `${service.name}.commands`])
  })
  await service.start()
  return service
}

/** Deletes queues (missing ones are fine), so that no message outlives its test. */
export async function deleteQueues(queues: readonly string[]): Promise<void> {
  const bus = createSupervisor({ urls: url, connectionName: uniqueName('examples-test-cleanup') })
  try {
    await bus.withChannel(async (channel) => {
      for (const queue of queues) await channel.deleteQueue(queue)
    })
  } finally {
    await bus.destroy()
  }
}

/** A supervisor for the test side: publishes raw messages and spies on exchanges. */
export async function peer(): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: uniqueName('examples-test-peer') })
  onTestFinished(() => bus.destroy())
  await bus.ready()
  return bus
}

/** Messages routed to an exclusive queue bound on `exchange` with `routingKey`. */
export interface Spy {
  messages: Delivery[]
  /** Resolves with the n-th message (1-based), waiting for it. */
  nth(n: number, timeoutMs?: number): Promise<Delivery>
  payload(delivery: Delivery): unknown
  /** A GELF log record (spies on `logs`). */
  log(delivery: Delivery): Gelf
}

/** The GELF fields the tests look at. */
export interface Gelf {
  short_message: string
  _conversation_id: string
}

export async function spy(bus: Supervisor, exchange: string, routingKey: string): Promise<Spy> {
  const key = uniqueName('spy')
  await bus.extendTopology(
    defineTopology({
      exchanges: [{ name: exchange, type: 'topic', ...(exchange === 'logs' ? { channel: 'log' } : {}) }],
      queues: [{ key, name: '' }],
      bindings: [{ queue: key, exchange, routingKey }],
    }),
  )
  const messages: Delivery[] = []
  await bus.consume(key, (delivery) => messages.push(delivery), { noAck: true })
  return {
    messages,
    nth: async (n, timeoutMs = 10_000) => {
      await waitFor(() => messages.length >= n, timeoutMs, `message #${n} on ${exchange}/${routingKey}`)
      return messages[n - 1] as Delivery
    },
    payload: (delivery) => decode(delivery.body, delivery.properties.contentType as string),
    log: (delivery) => JSON.parse(delivery.body.toString('utf8')) as Gelf,
  }
}

/** Publishes a raw message as a foreign (eventail) peer would. */
export async function send(
  bus: Supervisor,
  exchange: string,
  routingKey: string,
  payload: unknown,
  properties: PublishOptions,
): Promise<void> {
  await bus.publish(
    exchange,
    routingKey,
    encode(payload, (properties.contentType as string) ?? 'application/cbor'),
    properties,
  )
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export { waitFor }
