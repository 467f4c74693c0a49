import { EXCHANGES, serviceQueueName } from '@am/protocol'
import { TopologyError, toTopologyError } from './errors.js'
import type { TransportChannel } from './transport.js'

/** The exchange names of the Allo-Media bus (from `@am/protocol`, where the wire format lives). */
export { EXCHANGES }

/** An exchange to declare on every (re)connect. */
export interface ExchangeSpec {
  name: string
  type: 'topic' | 'direct' | 'fanout' | 'headers'
  /** @default true */
  durable?: boolean
  /** @default false */
  autoDelete?: boolean
  /** @default false */
  internal?: boolean
  arguments?: Record<string, unknown>
  /**
   * Which channel declares it: eventail declares `logs` on its log channel, the others on the main one.
   * @default 'main'
   */
  channel?: 'main' | 'log'
}

/** A queue to declare on every (re)connect, referred to by `key` in bindings and consumers. */
export interface QueueSpec {
  /** How bindings and consumers refer to this queue; its name may change on reconnect (server-named queues). */
  key: string
  /** The queue name; `''` asks the broker for a server-named (`amq.gen-…`) queue, new at every connection. */
  name: string
  /** @default true for a named queue, false for a server-named one */
  durable?: boolean
  /** @default false for a named queue, true for a server-named one */
  exclusive?: boolean
  /** @default false */
  autoDelete?: boolean
  /** Declare arguments, e.g. `{ 'x-queue-type': 'quorum' }`. eventail declares none. */
  arguments?: Record<string, unknown>
}

/** A binding of a queue (by key) to an exchange with a routing key or topic pattern. */
export interface BindingSpec {
  queue: string
  exchange: string
  routingKey: string
}

/** Exchanges, queues and bindings, as data. Re-applied on every connection. */
export interface Topology {
  readonly exchanges: readonly ExchangeSpec[]
  readonly queues: readonly QueueSpec[]
  readonly bindings: readonly BindingSpec[]
}

/** Checks a topology (unique names and keys, bindings that refer to declared queues) and returns it. */
export function defineTopology(topology: Partial<Topology>): Topology {
  const result: Topology = {
    exchanges: topology.exchanges ?? [],
    queues: topology.queues ?? [],
    bindings: topology.bindings ?? [],
  }
  const keys = new Set<string>()
  for (const queue of result.queues) {
    if (keys.has(queue.key)) throw new TopologyError('TOPOLOGY_INVALID', `queue key '${queue.key}' is declared twice`)
    keys.add(queue.key)
  }
  const exchanges = new Set<string>()
  for (const exchange of result.exchanges) {
    if (exchanges.has(exchange.name)) {
      throw new TopologyError('TOPOLOGY_INVALID', `exchange '${exchange.name}' is declared twice`)
    }
    exchanges.add(exchange.name)
  }
  for (const binding of result.bindings) {
    if (!keys.has(binding.queue)) {
      throw new TopologyError(
        'TOPOLOGY_UNKNOWN_QUEUE',
        `binding ${binding.exchange} → '${binding.queue}' (${binding.routingKey}) refers to no declared queue: add it to queues`,
      )
    }
  }
  return result
}

/** Joins topologies; a queue key or exchange declared twice with different attributes is an error. */
export function mergeTopologies(...topologies: Topology[]): Topology {
  const exchanges = new Map<string, ExchangeSpec>()
  const queues = new Map<string, QueueSpec>()
  const bindings = new Map<string, BindingSpec>()
  for (const topology of topologies) {
    for (const e of topology.exchanges) {
      const known = exchanges.get(e.name)
      if (known && JSON.stringify(known) !== JSON.stringify(e)) {
        throw new TopologyError('TOPOLOGY_INVALID', `exchange '${e.name}' is declared twice with different attributes`)
      }
      exchanges.set(e.name, e)
    }
    for (const q of topology.queues) {
      const known = queues.get(q.key)
      if (known && JSON.stringify(known) !== JSON.stringify(q)) {
        throw new TopologyError('TOPOLOGY_INVALID', `queue key '${q.key}' is declared twice with different attributes`)
      }
      queues.set(q.key, q)
    }
    for (const b of topology.bindings) bindings.set(`${b.queue}\u0000${b.exchange}\u0000${b.routingKey}`, b)
  }
  return defineTopology({
    exchanges: [...exchanges.values()],
    queues: [...queues.values()],
    bindings: [...bindings.values()],
  })
}

/** Options of `eventailTopology`. */
export interface EventailTopologyOptions {
  /** The logical service name: queues are `<service>.events` and `<service>.commands`. */
  service: string
  /** Routing keys or topic patterns bound on `events`. */
  events?: readonly string[]
  /** Routing keys bound on `commands`: the commands served and the reply-to keys of results awaited. */
  commands?: readonly string[]
  /** Routing keys bound on `configurations` (an exclusive server-named queue). */
  configurations?: readonly string[]
  /**
   * Exclusive server-named queues instead of the durable shared ones (debug tools).
   * @default false
   */
  exclusive?: boolean
  /**
   * Queue type of the durable service queues. `quorum` suits clusters but is not what eventail
   * declares: a queue that already exists as classic makes the declaration fail.
   * @default 'classic'
   */
  queueType?: 'classic' | 'quorum'
}

/**
 * The topology an eventail service declares (docs/protocol.md#topology): the four durable topic exchanges,
 * `<service>.events` / `<service>.commands` when there are keys for them, an exclusive
 * server-named configuration queue, and one binding per key. Queue keys: `events`, `commands`,
 * `configurations`.
 */
export function eventailTopology(options: EventailTopologyOptions): Topology {
  const { service, events = [], commands = [], configurations = [], exclusive = false, queueType = 'classic' } = options
  if (!service) throw new TopologyError('TOPOLOGY_INVALID', 'a service name is required')
  const exchanges: ExchangeSpec[] = [
    { name: EXCHANGES.events, type: 'topic' },
    { name: EXCHANGES.commands, type: 'topic' },
    { name: EXCHANGES.configurations, type: 'topic' },
    { name: EXCHANGES.logs, type: 'topic', channel: 'log' },
  ]
  const queues: QueueSpec[] = []
  const bindings: BindingSpec[] = []
  const serviceQueue = (key: 'events' | 'commands', keys: readonly string[]): void => {
    if (keys.length === 0) return
    if (exclusive) queues.push({ key, name: '' })
    else
      queues.push({
        key,
        name: serviceQueueName(service, key),
        ...(queueType === 'quorum' ? { arguments: { 'x-queue-type': 'quorum' } } : {}),
      })
    for (const routingKey of new Set(keys)) bindings.push({ queue: key, exchange: EXCHANGES[key], routingKey })
  }
  serviceQueue('events', events)
  serviceQueue('commands', commands)
  if (configurations.length > 0) {
    queues.push({ key: 'configurations', name: '' })
    for (const routingKey of new Set(configurations)) {
      bindings.push({ queue: 'configurations', exchange: EXCHANGES.configurations, routingKey })
    }
  }
  return defineTopology({ exchanges, queues, bindings })
}

/** The queue names of one connection: server-named queues get new names at every connection. */
export type QueueNames = ReadonlyMap<string, string>

/**
 * Declares `topology` (exchanges, then queues, then bindings) on the given channels and returns
 * the actual name of each queue key. A refused declaration rejects with a `TopologyError`.
 * @internal
 */
export async function applyTopology(
  topology: Topology,
  main: TransportChannel,
  log: TransportChannel = main,
): Promise<QueueNames> {
  for (const e of topology.exchanges) {
    const channel = e.channel === 'log' ? log : main
    await declare({ kind: 'exchange', name: e.name }, () =>
      channel.assertExchange(e.name, e.type, {
        durable: e.durable ?? true,
        autoDelete: e.autoDelete ?? false,
        internal: e.internal ?? false,
        ...(e.arguments ? { arguments: e.arguments } : {}),
      }),
    )
  }
  const names = new Map<string, string>()
  for (const q of topology.queues) {
    const named = q.name !== ''
    const reply = await declare({ kind: 'queue', name: q.name || q.key }, () =>
      main.assertQueue(q.name, {
        durable: q.durable ?? named,
        exclusive: q.exclusive ?? !named,
        autoDelete: q.autoDelete ?? false,
        ...(q.arguments ? { arguments: q.arguments } : {}),
      }),
    )
    names.set(q.key, reply.queue)
  }
  for (const b of topology.bindings) {
    const queue = names.get(b.queue) ?? b.queue
    await declare({ kind: 'binding', name: `${b.exchange} → ${queue} (${b.routingKey})` }, () =>
      main.bindQueue(queue, b.exchange, b.routingKey),
    )
  }
  return names
}

async function declare<T>(
  what: { kind: 'exchange' | 'queue' | 'binding'; name: string },
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw toTopologyError(error, what) ?? error
  }
}
