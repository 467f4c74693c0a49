import { createSupervisor, type Delivery, defineTopology, type Supervisor } from '@am/bus-core'
import { rabbitmqctl, uniqueName, waitFor } from '@am/testkit'
import { inject, onTestFinished } from 'vitest'

/** The shared test broker (vhost `am-test`): only this run's own queues, policies and connections are touched. */
export const url: string = inject('amqpUrl')
export const vhost: string = decodeURIComponent(new URL(url).pathname.slice(1)) || '/'

/** A supervisor for the test side, destroyed after the test. */
export async function peer(name = uniqueName('rel-peer')): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: name })
  onTestFinished(() => bus.destroy())
  await bus.ready()
  return bus
}

/** Messages routed to an exclusive queue bound on `exchange` with `routingKey`, acked on arrival. */
export interface Spy {
  messages: Delivery[]
  /** Resolves once `n` messages arrived. */
  count(n: number, timeoutMs?: number): Promise<void>
}

export async function spy(bus: Supervisor, exchange: string, routingKey: string): Promise<Spy> {
  const key = uniqueName('spy')
  await bus.extendTopology(
    defineTopology({
      exchanges: [{ name: exchange, type: 'topic' }],
      queues: [{ key, name: '' }],
      bindings: [{ queue: key, exchange, routingKey }],
    }),
  )
  const messages: Delivery[] = []
  await bus.consume(
    key,
    (d) => {
      messages.push(d)
      d.ack()
    },
    { prefetch: 500 },
  )
  return {
    messages,
    count: async (n, timeoutMs = 30_000) => {
      await waitFor(() => messages.length >= n, timeoutMs, `${n} messages on ${exchange}/${routingKey}`)
    },
  }
}

/** The GELF logs of a service, parsed, with their level name. */
export async function logSpy(bus: Supervisor, service: string) {
  const s = await spy(bus, 'logs', `${service}.*`)
  return {
    ...s,
    logs: () =>
      s.messages.map(
        (d) =>
          ({ ...JSON.parse(d.body.toString()), levelName: d.routingKey.split('.').pop() }) as {
            levelName: string
            short_message: string
            full_message?: string
          },
      ),
  }
}

/**
 * Dead-lettering for one service's queues: a unique DLX exchange and queue, and a policy matching
 * only `<service>.events|commands` on the test vhost (cleared after the test).
 */
export async function deadLetters(bus: Supervisor, service: string): Promise<Spy> {
  const exchange = uniqueName('rel-dlx')
  const policy = uniqueName('rel-dlx-policy')
  const dead = await spy(bus, exchange, '#')
  await rabbitmqctl(
    'set_policy',
    '-p',
    vhost,
    policy,
    `^${service.replace(/[.-]/g, (c) => `\\${c}`)}\\.(events|commands)$`,
    JSON.stringify({ 'dead-letter-exchange': exchange }),
    '--apply-to',
    'queues',
  )
  onTestFinished(async () => {
    await rabbitmqctl('clear_policy', '-p', vhost, policy).catch(() => undefined)
  })
  // A policy applies to existing queues asynchronously: wait until each of the service's queues
  // that exists already lists it (queues declared later get it at declaration).
  const queues = [`${service}.events`, `${service}.commands`]
  await waitFor(
    async () => {
      const listed = (await rabbitmqctl('list_queues', '-p', vhost, 'name', 'policy', '--no-table-headers'))
        .split('\n')
        .map((line) => line.split('\t'))
      return listed.filter(([name]) => queues.includes(name as string)).every(([, applied]) => applied === policy)
    },
    10_000,
    `policy ${policy} on the queues of ${service}`,
  )
  return dead
}

/** Deletes the durable queues of a service after the test. */
export function cleanupQueues(service: string): void {
  onTestFinished(async () => {
    const bus = createSupervisor({ urls: url })
    await bus
      .withChannel(async (channel) => {
        await channel.deleteQueue(`${service}.events`)
        await channel.deleteQueue(`${service}.commands`)
      })
      .catch(() => undefined)
    await bus.destroy()
  })
}
