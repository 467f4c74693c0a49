import { createSupervisor, type Delivery, defineTopology, type PublishOptions, type Supervisor } from '@am/bus-core'
import { decode, encode } from '@am/codec'
import { rabbitmqctl, uniqueName, waitFor } from '@am/testkit'
import { inject, onTestFinished } from 'vitest'
import { type Handlers, Service, type ServiceOptions } from '../src/index.js'

export const url: string = inject('amqpUrl')
export const vhost: string = decodeURIComponent(new URL(url).pathname.slice(1)) || '/'

/** A supervisor for the test side: publishes raw messages and spies on exchanges. */
export async function peer(): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: uniqueName('service-test-peer') })
  onTestFinished(() => bus.destroy())
  await bus.ready()
  return bus
}

/** Messages routed to an exclusive queue bound on `exchange` with `routingKey`. */
export interface Spy {
  messages: Delivery[]
  /** Resolves with the n-th message (1-based), waiting for it. */
  nth(n: number, timeoutMs?: number): Promise<Delivery>
  payload(d: Delivery): unknown
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
    { prefetch: 100 },
  )
  return {
    messages,
    nth: async (n, timeoutMs = 10_000) => {
      await waitFor(() => messages.length >= n, timeoutMs, `message #${n} on ${exchange}/${routingKey}`)
      return messages[n - 1] as Delivery
    },
    payload: (d) => decode(d.body, d.properties.contentType as string),
  }
}

/** Parsed GELF logs of a service, by level name. */
export async function logSpy(bus: Supervisor, service: string) {
  const s = await spy(bus, 'logs', `${service}.*`)
  return {
    ...s,
    logs: () => s.messages.map((d) => ({ level: d.routingKey.split('.').pop(), ...JSON.parse(d.body.toString()) })),
    levels: () => s.messages.map((d) => d.routingKey.split('.').pop()),
  }
}

/**
 * Dead-lettering for one service's queues: a unique DLX exchange and queue, and a policy matching
 * only `<service>.events|commands` (removed after the test).
 */
export async function deadLetters(bus: Supervisor, service: string) {
  const exchange = uniqueName('dlx')
  const policy = uniqueName('dlx-policy')
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
  // A queue declared from now on gets the policy when it is created; one that exists already gets
  // it asynchronously: wait until the broker lists it on each of them.
  const queues = new Set([`${service}.events`, `${service}.commands`])
  await waitFor(
    async () => {
      const out = await rabbitmqctl('list_queues', '-p', vhost, 'name', 'policy', '--no-table-headers')
      return out
        .split('\n')
        .map((line) => line.split('\t'))
        .every(([name, applied]) => !queues.has(name ?? '') || applied === policy)
    },
    10_000,
    `the policy ${policy} on the existing queues of ${service}`,
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

/** Starts a service and stops it after the test. */
export async function run<S extends Pick<Service, 'start' | 'stop'>>(
  make: (options: ServiceOptions) => S,
  options: Partial<ServiceOptions> = {},
): Promise<S> {
  const service = make({
    urls: url,
    handleSignals: false,
    stopTimeoutMs: 2_000,
    logger: process.env.DEBUG_SERVICE ? console : null,
    ...options,
  })
  onTestFinished(() => service.stop())
  await service.start()
  return service
}

/** Publishes a raw message as a foreign (eventail) peer would. */
export async function send(
  bus: Supervisor,
  exchange: string,
  routingKey: string,
  payload: unknown,
  properties: PublishOptions,
  raw?: Buffer,
): Promise<void> {
  await bus.publish(
    exchange,
    routingKey,
    raw ?? encode(payload, (properties.contentType as string) ?? 'application/cbor'),
    properties,
  )
}

/** Unacked message count of a queue (rabbitmqctl, as the consumer cannot tell). */
export async function unacked(queue: string): Promise<number> {
  const out = await rabbitmqctl('list_queues', '-p', vhost, 'name', 'messages_unacknowledged', '--no-table-headers')
  for (const line of out.split('\n')) {
    const [name, count] = line.split('\t')
    if (name === queue) return Number(count)
  }
  return -1
}

/** A sample's key: its name and its labels sorted by name, `name{a="1",b="2"}`. */
export function sample(name: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
  return `${name}{${sorted.join(',')}}`
}

/** Sample lines of the Prometheus text format, keyed as `sample()` does. */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[k as string] = v as string
    samples.set(sample(match[1] as string, labels), Number(match[3]))
  }
  return samples
}

export { uniqueName, waitFor }

/** A service whose name and handler table are given to its constructor. */
export class TableService extends Service {
  readonly name: string
  constructor(
    name: string,
    private readonly table: Handlers,
    options: ServiceOptions,
  ) {
    super(options)
    this.name = name
  }
  protected handlers(): Handlers {
    return this.table
  }
}
