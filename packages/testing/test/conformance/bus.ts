// The "bus under test": what the conformance suite needs from a bus, implemented twice — by the
// in-memory broker and by a real RabbitMQ. Both run bus-core's `Supervisor` (over the memory
// transport, over amqplib): the same assertions check the broker emulation against RabbitMQ.
import { createSupervisor, type Supervisor, type Topology } from '@am/bus-core'
import type { ServiceOptions } from '@am/service'
import { closeConnections, rabbitmqctl, uniqueName, waitFor } from '@am/testkit'
import { type Channel, connect } from 'amqplib'
import { onTestFinished } from 'vitest'
import { createMemoryBroker, type MemoryBroker } from '../../src/index.js'

export interface BusUnderTest {
  readonly kind: 'memory' | 'rabbitmq'
  /** A supervisor (one connection) declaring `topology`; closed after the test. */
  connect(options?: { topology?: Topology; name?: string }): Supervisor
  /** A name unique to this run. */
  unique(prefix: string): string
  /** A dead-letter policy on the queues matching `pattern`, removed after the test. */
  setDeadLetterPolicy(pattern: string, exchange: string): Promise<void>
  /** Drops the connections whose name contains `name`, as a network failure would. */
  dropConnection(name: string): Promise<void>
  /** Whether a queue exists. */
  queueExists(name: string): Promise<boolean>
  /** Ready messages of a queue. */
  messageCount(name: string): Promise<number>
  /** Ready and delivered-but-unacknowledged messages of a queue, as the broker counts them (exclusive queues too). */
  queueCounts(name: string): Promise<{ ready: number; unacked: number }>
  /** Deletes a named queue after the test. */
  deleteAfter(queue: string): void
  /** Deletes an exchange after the test. */
  deleteExchangeAfter(exchange: string): void
  /** What puts a `Service` on this bus. */
  serviceOptions(): Pick<ServiceOptions, 'urls' | 'supervisorFactory'>
}

export type BusFactory = () => BusUnderTest

/** The in-memory broker: one per test. */
export function memoryBus(): BusUnderTest {
  const broker: MemoryBroker = createMemoryBroker()
  onTestFinished(() => broker.close())
  return {
    kind: 'memory',
    connect: ({ topology, name } = {}) =>
      broker.createSupervisor({
        connectionName: name ?? uniqueName('conformance'),
        ...(topology ? { topology } : {}),
      }),
    unique: uniqueName,
    setDeadLetterPolicy: async (pattern, exchange) => {
      const name = uniqueName('dlx-policy')
      broker.setPolicy({ name, pattern, deadLetterExchange: exchange })
      onTestFinished(() => broker.clearPolicy(name))
    },
    dropConnection: async (name) => {
      broker.dropConnections({ name })
    },
    queueExists: async (name) => broker.queue(name) !== undefined,
    messageCount: async (name) => broker.queue(name)?.messages.length ?? 0,
    queueCounts: async (name) => {
      const queue = broker.queue(name)
      return { ready: queue?.messages.length ?? 0, unacked: queue?.unacked ?? 0 }
    },
    deleteAfter: (queue) => onTestFinished(() => broker.deleteQueue(queue)),
    deleteExchangeAfter: (exchange) => onTestFinished(() => broker.deleteExchange(exchange)),
    serviceOptions: () => ({ urls: broker.url, supervisorFactory: broker.supervisorFactory() }),
  }
}

/** A real RabbitMQ (the broker of `@am/testkit`'s global setup), through bus-core. */
export function rabbitBus(url: string): BusUnderTest {
  const vhost = decodeURIComponent(new URL(url).pathname.slice(1)) || '/'
  const check = async (name: string): Promise<{ messageCount: number } | undefined> => {
    const connection = await connect(url)
    try {
      const channel = await connection.createChannel()
      channel.on('error', () => undefined)
      // An exclusive queue of another connection exists, but is locked (405).
      return await channel
        .checkQueue(name)
        .catch((error: { code?: number }) => (error.code === 405 ? { messageCount: 0 } : undefined))
    } finally {
      await connection.close().catch(() => undefined)
    }
  }
  const admin = async (work: (channel: Channel) => Promise<unknown>): Promise<void> => {
    const connection = await connect(url)
    try {
      await work(await connection.createChannel())
    } finally {
      await connection.close().catch(() => undefined)
    }
  }
  return {
    kind: 'rabbitmq',
    connect: ({ topology, name } = {}) => {
      const bus = createSupervisor({
        urls: url,
        connectionName: name ?? uniqueName('conformance'),
        closeTimeoutMs: 2_000,
        ...(topology ? { topology } : {}),
      })
      onTestFinished(() => bus.close())
      return bus
    },
    unique: uniqueName,
    setDeadLetterPolicy: async (pattern, exchange) => {
      const name = uniqueName('dlx-policy')
      await rabbitmqctl(
        'set_policy',
        '-p',
        vhost,
        name,
        pattern,
        JSON.stringify({ 'dead-letter-exchange': exchange }),
        '--apply-to',
        'queues',
      )
      onTestFinished(async () => {
        await rabbitmqctl('clear_policy', '-p', vhost, name).catch(() => undefined)
      })
      // A queue declared from now on gets the policy when it is created; one that exists already
      // gets it asynchronously: wait until the broker lists it on each matching queue.
      const matches = new RegExp(pattern)
      await waitFor(
        async () =>
          (await rabbitmqctl('list_queues', '-p', vhost, 'name', 'policy', '--no-table-headers'))
            .split('\n')
            .map((line) => line.split('\t'))
            .every(([queue = '', applied]) => !queue || !matches.test(queue) || applied === name),
        10_000,
        `the policy ${name} on the queues matching ${pattern}`,
      )
    },
    dropConnection: async (name) => {
      await closeConnections(name)
    },
    queueExists: async (name) => (await check(name)) !== undefined,
    messageCount: async (name) => (await check(name))?.messageCount ?? 0,
    queueCounts: async (name) => {
      const out = await rabbitmqctl(
        'list_queues',
        '-p',
        vhost,
        'name',
        'messages_ready',
        'messages_unacknowledged',
        '--no-table-headers',
      )
      const [, ready = '0', unacked = '0'] = out
        .split('\n')
        .map((line) => line.split('\t'))
        .find(([queue]) => queue === name) ?? [name]
      return { ready: Number(ready), unacked: Number(unacked) }
    },
    deleteAfter: (queue) => onTestFinished(() => admin((channel) => channel.deleteQueue(queue))),
    deleteExchangeAfter: (exchange) => onTestFinished(() => admin((channel) => channel.deleteExchange(exchange))),
    serviceOptions: () => ({ urls: url }),
  }
}
