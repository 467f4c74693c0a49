// Over 500 lines on purpose: the broker's semantics (exchanges, queues, bindings, routing, delivery
// and acks, dead-lettering, policies, TTL and length limits) all act on one shared state, and each
// rule is checked against RabbitMQ by the conformance suite. How a client talks to it is
// memory-transport.ts; what the harness observes is harness.ts.
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import {
  createSupervisor,
  type FetchedMessage,
  type Supervisor,
  type SupervisorLike,
  type SupervisorOptions,
} from '@am/bus-core'
import { matchesTopic } from '@am/protocol'
import { type AmqpError, amqpError, channelClosedError } from './amqp-errors.js'
import { BrokerConnection } from './connection.js'
import { TestingError } from './errors.js'
import { memoryTimers, memoryTransport } from './memory-transport.js'
import { copyProperties, type PublishProperties, toMessageProperties } from './properties.js'
import { type ConsumerState, type Outstanding, Queue, type QueuedMessage } from './queue.js'
import { nextTurn, realClearTimeout, realNow, realSetImmediate, realSetTimeout } from './timers.js'
import type { ConsumeMessage, MessageProperties } from './types.js'

/** Options of `createMemoryBroker`. */
export interface MemoryBrokerOptions {
  /**
   * The vhost named in error messages (and in the `memory://` URL supervisors report).
   * @default '/'
   */
  vhost?: string
  /**
   * Delay before a supervisor whose connection dropped connects again, in real ms.
   * @default 0 (the next turn of the event loop)
   */
  reconnectDelayMs?: number
}

/** A policy, as `rabbitmqctl set_policy … --apply-to queues` would set it (the keys the memory broker applies). */
export interface MemoryPolicy {
  /** @default 'DLX' */
  name?: string
  /** A regular expression on queue names, unanchored as RabbitMQ's. */
  pattern: string
  /** `dead-letter-exchange` */
  deadLetterExchange?: string
  /** `dead-letter-routing-key` */
  deadLetterRoutingKey?: string
  /** `max-length` */
  maxLength?: number
  /** `overflow` */
  overflow?: 'drop-head' | 'reject-publish' | 'reject-publish-dlx'
  /** The policy with the highest priority applies. @default 0 */
  priority?: number
}

/** Which publishes a fault applies to; every field given must match. */
export interface PublishFilter {
  exchange?: string
  routingKey?: string
}

/** A message accepted by an exchange, as the broker saw it. */
export interface BrokerMessage {
  /** Unique within the broker. */
  id: number
  exchange: string
  routingKey: string
  body: Buffer
  properties: MessageProperties
  mandatory: boolean
  /** The connection name of the publisher; `''` for `broker.publish` and dead letters. */
  publisher: string
  /** The queues it was routed to. */
  queues: string[]
  /** Why a queue got it: `'published'`, or the dead-letter reason. */
  origin: 'published' | DeadLetterReason
  /** Real time of the publish (ms). */
  time: number
}

/** Why a message left a queue without an ack (`expired`: its queue's `x-message-ttl` ran out). */
export type DeadLetterReason = 'rejected' | 'maxlen' | 'expired'

/** Events of a `MemoryBroker`, for harnesses and spies. */
export interface MemoryBrokerEvents {
  /** A message was accepted by an exchange (routed or not). */
  published: [message: BrokerMessage]
  /** A message was returned to its publisher as unroutable. */
  returned: [message: BrokerMessage]
  /** A publish was nacked (a fault, or a full queue with `reject-publish`). */
  nacked: [message: { exchange: string; routingKey: string; publisher: string }]
  delivered: [info: { id: number; queue: string; connection: string; redelivered: boolean }]
  acked: [info: { id: number; queue: string }]
  requeued: [info: { id: number; queue: string }]
  /** A message left `queue` for a dead-letter exchange; `message` is the dead letter as published there. */
  deadLettered: [info: { id: number; queue: string; reason: DeadLetterReason; message: BrokerMessage }]
  /** A message left `queue` for good: rejected or dropped without a dead-letter exchange. */
  discarded: [info: { id: number; queue: string; reason: DeadLetterReason }]
  /** A connection closed (or was dropped). */
  disconnected: [info: { connection: string; forced: boolean }]
}

/** A queue as the broker holds it now. */
export interface QueueSnapshot {
  name: string
  durable: boolean
  exclusive: boolean
  autoDelete: boolean
  arguments: Record<string, unknown>
  /** Ready messages, in delivery order. */
  messages: Array<{
    id: number
    routingKey: string
    exchange: string
    body: Buffer
    properties: MessageProperties
    redelivered: boolean
  }>
  /** Delivered, not yet acknowledged. */
  unacked: number
  consumers: number
  /** The dead-letter exchange that applies (argument, else policy). */
  deadLetterExchange: string | undefined
}

interface Exchange {
  name: string
  type: 'topic' | 'direct' | 'fanout' | 'headers'
  durable: boolean
  autoDelete: boolean
  internal: boolean
  arguments: Record<string, unknown>
  bindings: Binding[]
}

interface Binding {
  queue: string
  routingKey: string
  arguments: Record<string, unknown>
}

/** Queue arguments RabbitMQ 3.10 compares when a queue is declared again. */
const CHECKED_QUEUE_ARGS = [
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-max-priority',
  'x-overflow',
  'x-queue-mode',
  'x-queue-type',
  'x-single-active-consumer',
  'x-quorum-initial-group-size',
  'x-delivery-limit',
]

/** Arguments the memory broker would have to honour to behave like RabbitMQ, and does not. */
const UNSUPPORTED_QUEUE_ARGS = [
  'x-expires',
  'x-max-length-bytes',
  'x-max-priority',
  'x-single-active-consumer',
  'x-delivery-limit',
]

/**
 * An in-memory RabbitMQ for tests: exchanges (topic, direct, fanout, headers, the default
 * exchange), queues shared round-robin by their consumers, exclusive server-named queues, per-consumer
 * prefetch, acks, requeues, dead-lettering with `x-death` (as RabbitMQ 3.10), publisher confirms,
 * `mandatory` returns, per-queue message TTL (`x-message-ttl`, on the global timers: fake time moves
 * it), declare-time checks, and faults to inject. Services reach it through
 * `broker.supervisorFactory()`. Create it with `createMemoryBroker`.
 */
export class MemoryBroker extends EventEmitter<MemoryBrokerEvents> {
  /** The vhost named in error messages. */
  readonly vhost: string
  /** Real ms before a dropped supervisor reconnects. */
  reconnectDelayMs: number
  readonly #exchanges = new Map<string, Exchange>()
  readonly #queues = new Map<string, Queue>()
  readonly #policies = new Map<
    string,
    Required<Pick<MemoryPolicy, 'name' | 'pattern' | 'priority'>> & MemoryPolicy & { matcher: RegExp }
  >()
  readonly #connections = new Set<BrokerConnection>()
  readonly #failures: Array<PublishFilter & { remaining: number }> = []
  readonly #unroutable: Array<PublishFilter & { routingKey: string }> = []
  readonly #supervisors = new Set<Supervisor>()
  readonly #made = new WeakSet<object>()
  #confirmDelayMs = 0
  #nextMessageId = 0
  #nextConnectionId = 0
  #activity = 0
  #pending = 0
  #offline = false
  #closed = false
  /** Cancels the pending message-TTL timers. */
  readonly #expiries = new Set<() => void>()

  /** @internal use `createMemoryBroker` */
  constructor(options: MemoryBrokerOptions = {}) {
    super()
    this.vhost = options.vhost ?? '/'
    this.reconnectDelayMs = options.reconnectDelayMs ?? 0
    for (const [name, type] of [
      ['', 'direct'],
      ['amq.direct', 'direct'],
      ['amq.fanout', 'fanout'],
      ['amq.topic', 'topic'],
      ['amq.headers', 'headers'],
      ['amq.match', 'headers'],
    ] as const) {
      this.#exchanges.set(name, {
        name,
        type,
        durable: true,
        autoDelete: false,
        internal: false,
        arguments: {},
        bindings: [],
      })
    }
  }

  /** The URL supervisors of this broker report (`memory://<vhost>`). */
  get url(): string {
    return `memory://${encodeURIComponent(this.vhost)}`
  }

  // Supervisors ----------------------------------------------------------------------------------

  /**
   * A `supervisorFactory` for `Service` options: each service (each call) gets its own
   * supervisor, i.e. its own connection to this broker.
   * @example
   * const broker = createMemoryBroker()
   * const pong = new Pong({ urls: broker.url, supervisorFactory: broker.supervisorFactory() })
   */
  supervisorFactory(): (options: SupervisorOptions) => SupervisorLike {
    return (options) => this.createSupervisor(options)
  }

  /**
   * A supervisor (one connection) on this broker, connecting in the background: `@am/bus-core`'s
   * own `Supervisor` over the memory transport. It reconnects after `reconnectDelayMs` (unless
   * `options.reconnect` says otherwise) and logs nothing.
   */
  createSupervisor(options: Partial<SupervisorOptions> = {}): Supervisor {
    this.#assertOpen()
    const delay = this.reconnectDelayMs
    const supervisor = createSupervisor({
      connectionName: `memory-${Math.random().toString(36).slice(2, 10)}`,
      reconnect: { initialDelayMs: delay, maxDelayMs: delay, jitter: 0 },
      ...options,
      urls: this.url,
      logger: null,
      transport: memoryTransport(this),
      timers: memoryTimers(this),
    })
    this.#supervisors.add(supervisor)
    this.#made.add(supervisor)
    supervisor.once('closed', () => this.#supervisors.delete(supervisor))
    return supervisor
  }

  /** Whether `supervisor` was made by this broker (it is not bound to a real broker). */
  isMemorySupervisor(supervisor: unknown): boolean {
    return typeof supervisor === 'object' && supervisor !== null && this.#made.has(supervisor)
  }

  // Faults ---------------------------------------------------------------------------------------

  /**
   * The next confirmed publish matching `filter` (any, without one) is nacked by the broker and not
   * routed: its `publish` rejects with `PUBLISH_NACKED`. Unconfirmed publishes (logs) are never nacked.
   */
  failNextPublish(filter: PublishFilter & { times?: number } = {}): void {
    const { times = 1, ...rest } = filter
    this.#failures.push({ ...rest, remaining: times })
  }

  /**
   * Messages with this routing key (on `exchange`, or any) reach no queue, as if nothing were bound:
   * `mandatory` ones come back (`PUBLISH_RETURNED`), the others are dropped. Returns the undo.
   */
  makeUnroutable(routingKey: string, options: { exchange?: string } = {}): () => void {
    const rule = { routingKey, ...options }
    this.#unroutable.push(rule)
    return () => {
      const index = this.#unroutable.indexOf(rule)
      if (index >= 0) this.#unroutable.splice(index, 1)
    }
  }

  /**
   * Drops connections (every one, or those whose name contains `name`) as a network failure would:
   * unacked deliveries go back to their queues (redelivered), exclusive queues are deleted,
   * unconfirmed publishes reject with `PUBLISH_CHANNEL_CLOSED`; supervisors connect again after
   * `reconnectDelayMs`, declare their topology and consumers again. Returns how many were dropped.
   */
  dropConnections(filter: { name?: string } = {}): number {
    let dropped = 0
    for (const connection of [...this.#connections]) {
      if (filter.name !== undefined && !connection.name.includes(filter.name)) continue
      connection.drop(
        channelClosedError(320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"),
      )
      dropped += 1
    }
    return dropped
  }

  /**
   * Refuses new connections while `offline` (supervisors keep retrying every `reconnectDelayMs`);
   * going offline also drops the open ones.
   */
  setOffline(offline: boolean): void {
    this.#offline = offline
    if (offline) this.dropConnections()
  }

  /** @internal */
  get offline(): boolean {
    return this.#offline
  }

  /** Confirms (acks, nacks) arrive this many real ms after the publish is routed; 0 restores. */
  slowConfirms(ms: number): void {
    this.#confirmDelayMs = ms
  }

  /** @internal */
  get confirmDelayMs(): number {
    return this.#confirmDelayMs
  }

  // Policies ------------------------------------------------------------------------------------

  /**
   * Sets a policy on the queues whose name matches `pattern` (existing and future ones), as
   * `rabbitmqctl set_policy` does; a queue argument (`x-dead-letter-exchange`…) wins over it.
   * @example broker.setPolicy({ pattern: '^.*\\.(events|commands)$', deadLetterExchange: 'am-dlx' })
   */
  setPolicy(policy: MemoryPolicy): void {
    const name = policy.name ?? 'DLX'
    // compiled once here, not at every enqueue that reads a setting
    this.#policies.set(name, { ...policy, name, priority: policy.priority ?? 0, matcher: new RegExp(policy.pattern) })
  }

  /** Removes a policy by name. */
  clearPolicy(name: string): void {
    this.#policies.delete(name)
  }

  // Inspection and administration ---------------------------------------------------------------

  /** A queue's state, or undefined when it does not exist. */
  queue(name: string): QueueSnapshot | undefined {
    const queue = this.#queues.get(name)
    if (!queue) return undefined
    return {
      name,
      durable: queue.durable,
      exclusive: queue.exclusive,
      autoDelete: queue.autoDelete,
      arguments: { ...queue.args },
      messages: queue.ready.map((m) => ({
        id: m.id,
        exchange: m.exchange,
        routingKey: m.routingKey,
        body: m.body,
        properties: copyProperties(m.properties),
        redelivered: m.redelivered,
      })),
      unacked: queue.unacked.size,
      consumers: queue.consumers.length,
      deadLetterExchange: this.#setting(queue, 'x-dead-letter-exchange', 'deadLetterExchange') as string | undefined,
    }
  }

  /** The names of the queues. */
  queueNames(): string[] {
    return [...this.#queues.keys()]
  }

  /** Where the copies of message `id` wait: ready or unacked, in a queue with consumers or not. @internal */
  copies(id: number): Array<{ queue: string; unacked: boolean; consumed: boolean }> {
    const out: Array<{ queue: string; unacked: boolean; consumed: boolean }> = []
    for (const queue of this.#queues.values()) {
      const consumed = queue.consumers.length > 0
      for (const m of queue.ready) if (m.id === id) out.push({ queue: queue.name, unacked: false, consumed })
      for (const o of queue.unacked) if (o.message.id === id) out.push({ queue: queue.name, unacked: true, consumed })
    }
    return out
  }

  /** Whether an exchange exists. */
  hasExchange(name: string): boolean {
    return this.#exchanges.has(name)
  }

  /** The bindings of an exchange. */
  bindings(exchange: string): Array<{ queue: string; routingKey: string }> {
    return (this.#exchanges.get(exchange)?.bindings ?? []).map(({ queue, routingKey }) => ({ queue, routingKey }))
  }

  /** The names of the open connections. */
  connectionNames(): string[] {
    return [...this.#connections].map((c) => c.name)
  }

  /** Deletes a queue and its messages; its consumers are cancelled (their supervisors reconnect). */
  deleteQueue(name: string): void {
    const queue = this.#queues.get(name)
    if (queue) this.#deleteQueue(queue, true)
  }

  /** Deletes an exchange and its bindings (the predeclared ones stay). */
  deleteExchange(name: string): void {
    if (name === '' || name.startsWith('amq.')) return
    this.#exchanges.delete(name)
  }

  /** Removes the ready messages of a queue; returns how many. */
  purgeQueue(name: string): number {
    const queue = this.#queues.get(name)
    if (!queue) return 0
    const count = queue.ready.length
    queue.ready.length = 0
    return count
  }

  /**
   * Publishes as a foreign peer would (no confirm, no connection): routes at once and returns the
   * queues the message reached.
   */
  publish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: PublishProperties & { mandatory?: boolean } = {},
  ): string[] {
    this.#assertOpen()
    const target = this.#exchanges.get(exchange)
    if (!target) throw channelClosedError(404, `NOT_FOUND - no exchange '${exchange}' in vhost '${this.vhost}'`)
    const { mandatory = false, ...properties } = options
    return this.#route(target, routingKey, body, toMessageProperties(properties), mandatory, '', 'published').queues
  }

  /**
   * Resolves once nothing moves: no operation waiting, no delivery to make, no supervisor about to
   * reconnect, for a few turns of the event loop. Handlers still running (awaiting timers, say) are
   * not waited for.
   */
  async idle(options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = realNow() + (options.timeoutMs ?? 5_000)
    let quiet = 0
    let seen = -1
    while (quiet < 3) {
      await nextTurn()
      if (this.#pending === 0 && this.#activity === seen) quiet += 1
      else quiet = 0
      seen = this.#activity
      if (realNow() > deadline) {
        throw new TestingError(
          'HARNESS_TIMEOUT',
          `the memory broker is still busy after ${options.timeoutMs ?? 5_000} ms`,
        )
      }
    }
  }

  /** Closes every supervisor and connection; the broker cannot be used after. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    await Promise.allSettled([...this.#supervisors].map((s) => s.close()))
    this.#closed = true
    for (const cancel of [...this.#expiries]) cancel()
    for (const connection of [...this.#connections]) connection.drop(undefined)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  // Internals used by connections -----------------------------------------------------------------

  /** @internal */
  connect(name: string): BrokerConnection {
    this.#assertOpen()
    if (this.#offline) throw new Error(`connect ECONNREFUSED ${this.url} (the memory broker is offline)`)
    this.#nextConnectionId += 1
    const connection = new BrokerConnection(this, this.#nextConnectionId, name)
    this.#connections.add(connection)
    this.touch()
    return connection
  }

  /** Whether work is scheduled (operations, deliveries, confirms, reconnections). @internal */
  get busy(): boolean {
    return this.#pending > 0
  }

  /** Marks activity (for `idle`). @internal */
  touch(): void {
    this.#activity += 1
  }

  /** Runs `work` on the next turn, counted as pending until then (for `idle`). @internal */
  later(work: () => void, delayMs = 0): () => void {
    this.#pending += 1
    this.touch()
    let done = false
    const run = (): void => {
      if (done) return
      done = true
      this.#pending -= 1
      this.touch()
      work()
    }
    if (delayMs <= 0) {
      const handle = realSetImmediate(run)
      return () => {
        if (done) return
        done = true
        this.#pending -= 1
        clearImmediate(handle)
      }
    }
    const timer = realSetTimeout(run, delayMs)
    return () => {
      if (done) return
      done = true
      this.#pending -= 1
      realClearTimeout(timer)
    }
  }

  /** @internal */
  assertExchange(
    connection: BrokerConnection,
    name: string,
    type: Exchange['type'],
    options: { durable: boolean; autoDelete: boolean; internal: boolean; arguments?: Record<string, unknown> },
  ): void {
    const existing = this.#exchanges.get(name)
    if (name === '' || (name.startsWith('amq.') && !existing)) {
      throw amqpError(
        403,
        'ExchangeDeclare',
        name === ''
          ? `operation not permitted on the default exchange`
          : `exchange name '${name}' contains reserved prefix 'amq.*'`,
      )
    }
    if (existing) {
      const checks: Array<[string, string, string]> = [
        ['type', type, existing.type],
        ['durable', String(options.durable), String(existing.durable)],
        ['auto_delete', String(options.autoDelete), String(existing.autoDelete)],
        ['internal', String(options.internal), String(existing.internal)],
      ]
      for (const [arg, received, current] of checks) {
        if (received !== current) {
          throw amqpError(
            406,
            'ExchangeDeclare',
            `inequivalent arg '${arg}' for exchange '${name}' in vhost '${this.vhost}': received '${received}' but current is '${current}'`,
          )
        }
      }
      return
    }
    void connection
    this.#exchanges.set(name, {
      name,
      type,
      durable: options.durable,
      autoDelete: options.autoDelete,
      internal: options.internal,
      arguments: { ...options.arguments },
      bindings: [],
    })
  }

  /** @internal */
  assertQueue(
    connection: BrokerConnection,
    requested: string,
    options: { durable: boolean; exclusive: boolean; autoDelete: boolean; arguments?: Record<string, unknown> },
  ): string {
    const args = { ...options.arguments }
    if (requested.startsWith('amq.')) {
      throw amqpError(403, 'QueueDeclare', `queue name '${requested}' contains reserved prefix 'amq.*'`)
    }
    const existing = requested === '' ? undefined : this.#queues.get(requested)
    if (existing) {
      const owner = options.exclusive ? connection : undefined
      if (existing.owner !== owner) throw this.#locked('QueueDeclare', requested)
      const checks: Array<[string, boolean, boolean]> = [
        ['durable', options.durable, existing.durable],
        ['auto_delete', options.autoDelete, existing.autoDelete],
      ]
      for (const [arg, received, current] of checks) {
        if (received !== current) {
          throw amqpError(
            406,
            'QueueDeclare',
            `inequivalent arg '${arg}' for queue '${requested}' in vhost '${this.vhost}': received '${received}' but current is '${current}'`,
          )
        }
      }
      for (const key of CHECKED_QUEUE_ARGS) {
        const received = args[key]
        const current = existing.args[key]
        if (sameArg(received, current)) continue
        throw amqpError(
          406,
          'QueueDeclare',
          `inequivalent arg '${key}' for queue '${requested}' in vhost '${this.vhost}': received ${describeArg(received)} but current is ${describeArg(current)}`,
        )
      }
      return requested
    }
    for (const key of UNSUPPORTED_QUEUE_ARGS) {
      if (args[key] !== undefined) {
        throw new TestingError(
          'BROKER_UNSUPPORTED',
          `the memory broker does not implement the queue argument '${key}' (queue '${requested || '(server-named)'}'): test this on RabbitMQ`,
        )
      }
    }
    const name = requested === '' ? `amq.gen-${randomBytes(16).toString('base64url')}` : requested
    const queue = new Queue(
      name,
      options.durable,
      options.exclusive,
      options.autoDelete,
      args,
      options.exclusive ? connection : undefined,
    )
    this.#queues.set(name, queue)
    if (queue.owner) queue.owner.exclusiveQueues.add(queue)
    return name
  }

  /** @internal */
  bindQueue(
    connection: BrokerConnection,
    queueName: string,
    exchangeName: string,
    routingKey: string,
    args: Record<string, unknown> = {},
  ): void {
    const queue = this.#queues.get(queueName)
    if (!queue) throw amqpError(404, 'QueueBind', `no queue '${queueName}' in vhost '${this.vhost}'`)
    if (queue.owner && queue.owner !== connection) throw this.#locked('QueueBind', queueName)
    if (exchangeName === '') throw amqpError(403, 'QueueBind', `operation not permitted on the default exchange`)
    const exchange = this.#exchanges.get(exchangeName)
    if (!exchange) throw amqpError(404, 'QueueBind', `no exchange '${exchangeName}' in vhost '${this.vhost}'`)
    const same = exchange.bindings.some(
      (b) => b.queue === queueName && b.routingKey === routingKey && sameArg(b.arguments, args),
    )
    if (!same) exchange.bindings.push({ queue: queueName, routingKey, arguments: { ...args } })
  }

  /** @internal */
  consume(
    connection: BrokerConnection,
    queueName: string,
    options: { prefetch: number; noAck: boolean; exclusive: boolean },
    onMessage: (message: ConsumeMessage) => void,
  ): ConsumerState {
    const queue = this.#queues.get(queueName)
    if (!queue) throw amqpError(404, 'BasicConsume', `no queue '${queueName}' in vhost '${this.vhost}'`)
    if (queue.owner && queue.owner !== connection) throw this.#locked('BasicConsume', queueName)
    if (queue.consumers.some((c) => c.exclusive) || (options.exclusive && queue.consumers.length > 0)) {
      throw amqpError(403, 'BasicConsume', `queue '${queueName}' in vhost '${this.vhost}' in exclusive use`)
    }
    const consumer: ConsumerState = {
      tag: `amq.ctag-${randomBytes(16).toString('base64url')}`,
      queue,
      connection,
      prefetch: options.prefetch,
      noAck: options.noAck,
      exclusive: options.exclusive,
      unacked: 0,
      onMessage,
    }
    queue.consumers.push(consumer)
    queue.hadConsumer = true
    this.#scheduleDispatch(queue)
    return consumer
  }

  /** @internal */
  cancel(consumer: ConsumerState): void {
    const queue = consumer.queue
    const index = queue.consumers.indexOf(consumer)
    if (index < 0) return
    queue.consumers.splice(index, 1)
    if (queue.autoDelete && queue.consumers.length === 0 && queue.hadConsumer) this.#deleteQueue(queue, false)
  }

  /**
   * `basic.get` without auto-ack: the queue's next ready message, held unacked by `connection`
   * (under its own delivery tag) until settled; `undefined` when the queue is empty.
   * @internal
   */
  get(
    connection: BrokerConnection,
    queueName: string,
  ): { outstanding: Outstanding; message: FetchedMessage } | undefined {
    const queue = this.#queues.get(queueName)
    if (!queue) throw amqpError(404, 'BasicGet', `no queue '${queueName}' in vhost '${this.vhost}'`)
    if (queue.owner && queue.owner !== connection) throw this.#locked('BasicGet', queueName)
    const message = queue.ready.shift()
    if (!message) return undefined
    const tag = connection.nextDeliveryTag()
    // Not a consumer of the queue: it only holds the unacked count that `settle` gives back.
    const getter: ConsumerState = {
      tag: '',
      queue,
      connection,
      prefetch: 0,
      noAck: false,
      exclusive: false,
      unacked: 1,
      onMessage: () => undefined,
    }
    const outstanding: Outstanding = { tag, consumer: getter, message }
    queue.unacked.add(outstanding)
    connection.outstanding.set(tag, outstanding)
    this.touch()
    this.emit('delivered', {
      id: message.id,
      queue: queue.name,
      connection: connection.name,
      redelivered: message.redelivered,
    })
    const properties = copyProperties(message.properties)
    if (queue.args['x-queue-type'] === 'quorum' && message.returns > 0) {
      ;(properties.headers as Record<string, unknown>)['x-delivery-count'] = message.returns
    }
    return {
      outstanding,
      message: {
        content: message.body,
        fields: {
          deliveryTag: tag,
          redelivered: message.redelivered,
          exchange: message.exchange,
          routingKey: message.routingKey,
          messageCount: queue.ready.length,
        },
        properties,
      },
    }
  }

  /** @internal */
  settle(outstanding: Outstanding, action: 'ack' | 'requeue' | 'reject'): void {
    const { consumer, message } = outstanding
    const queue = consumer.queue
    if (!queue.unacked.delete(outstanding)) return
    consumer.unacked -= 1
    this.touch()
    if (action === 'ack') this.emit('acked', { id: message.id, queue: queue.name })
    else if (action === 'requeue') this.#requeue(queue, message)
    else this.#deadLetter(queue, message, 'rejected')
    this.#scheduleDispatch(queue)
  }

  /**
   * Publishes for a connection; returns what the broker answers (ack, nack, return) or throws a
   * channel error (missing exchange).
   * @internal
   */
  publishFrom(
    connection: BrokerConnection,
    exchangeName: string,
    routingKey: string,
    body: Buffer,
    properties: MessageProperties,
    mandatory: boolean,
    confirm: boolean,
  ): { nacked: boolean; returned: BrokerMessage | undefined } {
    const exchange = this.#exchanges.get(exchangeName)
    if (!exchange) throw channelClosedError(404, `NOT_FOUND - no exchange '${exchangeName}' in vhost '${this.vhost}'`)
    if (confirm) {
      const failure = this.#failures.find((f) => matchesFilter(f, exchangeName, routingKey))
      if (failure) {
        failure.remaining -= 1
        if (failure.remaining <= 0) this.#failures.splice(this.#failures.indexOf(failure), 1)
        this.emit('nacked', { exchange: exchangeName, routingKey, publisher: connection.name })
        return { nacked: true, returned: undefined }
      }
    }
    const routed = this.#route(exchange, routingKey, body, properties, mandatory, connection.name, 'published')
    if (routed.rejected) this.emit('nacked', { exchange: exchangeName, routingKey, publisher: connection.name })
    return { nacked: routed.rejected, returned: routed.returned }
  }

  /** @internal */
  forget(connection: BrokerConnection, forced: boolean): void {
    if (!this.#connections.delete(connection)) return
    // Unacked deliveries go back to their queues, in their original order.
    const outstanding = [...connection.outstanding.values()].sort((a, b) => a.tag - b.tag)
    connection.outstanding.clear()
    for (const consumer of [...connection.consumers.values()]) this.cancel(consumer)
    connection.consumers.clear()
    for (const item of outstanding) {
      const queue = item.consumer.queue
      if (!queue.unacked.delete(item)) continue
      item.consumer.unacked -= 1
      if (this.#queues.get(queue.name) === queue) this.#requeue(queue, item.message)
    }
    for (const queue of connection.exclusiveQueues) this.#deleteQueue(queue, false)
    connection.exclusiveQueues.clear()
    this.touch()
    this.emit('disconnected', { connection: connection.name, forced })
  }

  // Routing, delivery, dead-lettering ------------------------------------------------------------

  #route(
    exchange: Exchange,
    routingKey: string,
    body: Buffer,
    properties: MessageProperties,
    mandatory: boolean,
    publisher: string,
    origin: BrokerMessage['origin'],
    routingKeys: readonly string[] = [routingKey],
    skipQueues: ReadonlySet<string> = new Set(),
  ): { queues: string[]; rejected: boolean; returned: BrokerMessage | undefined; record: BrokerMessage } {
    this.touch()
    this.#nextMessageId += 1
    const id = this.#nextMessageId
    const targets = new Set<Queue>()
    const blocked = this.#unroutable.some(
      (rule) => rule.routingKey === routingKey && (rule.exchange === undefined || rule.exchange === exchange.name),
    )
    if (!blocked) {
      for (const key of routingKeys) {
        for (const queue of this.#matches(exchange, key, properties))
          if (!skipQueues.has(queue.name)) targets.add(queue)
      }
    }
    let rejected = false
    const queues: string[] = []
    for (const queue of targets) {
      const message: QueuedMessage = {
        seq: queue.nextSeq++,
        id,
        exchange: exchange.name,
        routingKey,
        body,
        properties: copyProperties(properties),
        redelivered: false,
        returns: 0,
      }
      if (this.#enqueue(queue, message)) queues.push(queue.name)
      else rejected = true
    }
    const record: BrokerMessage = {
      id,
      exchange: exchange.name,
      routingKey,
      body,
      properties: copyProperties(properties),
      mandatory,
      publisher,
      queues,
      origin,
      time: realNow(),
    }
    this.emit('published', record)
    let returned: BrokerMessage | undefined
    if (targets.size === 0 && mandatory) {
      returned = record
      this.emit('returned', record)
    }
    return { queues, rejected, returned, record }
  }

  #matches(exchange: Exchange, routingKey: string, properties: MessageProperties): Queue[] {
    if (exchange.name === '') {
      const queue = this.#queues.get(routingKey)
      return queue ? [queue] : []
    }
    const out: Queue[] = []
    for (const binding of exchange.bindings) {
      let hit: boolean
      switch (exchange.type) {
        case 'topic':
          hit = matchesTopic(binding.routingKey, routingKey)
          break
        case 'direct':
          hit = binding.routingKey === routingKey
          break
        case 'fanout':
          hit = true
          break
        case 'headers':
          hit = matchesHeaders(binding.arguments, (properties.headers ?? {}) as Record<string, unknown>)
          break
      }
      const queue = hit ? this.#queues.get(binding.queue) : undefined
      if (queue) out.push(queue)
    }
    return out
  }

  /** Adds a message to a queue, applying its length limit; false when the queue refused it. */
  #enqueue(queue: Queue, message: QueuedMessage): boolean {
    const max = this.#setting(queue, 'x-max-length', 'maxLength') as number | undefined
    if (max !== undefined && queue.ready.length >= max) {
      const overflow = (this.#setting(queue, 'x-overflow', 'overflow') as string | undefined) ?? 'drop-head'
      if (overflow === 'reject-publish') return false
      if (overflow === 'reject-publish-dlx') {
        this.#deadLetter(queue, message, 'maxlen')
        return false
      }
      while (queue.ready.length >= max && queue.ready.length > 0) {
        this.#deadLetter(queue, queue.ready.shift() as QueuedMessage, 'maxlen')
      }
      if (max === 0) {
        this.#deadLetter(queue, message, 'maxlen')
        return true
      }
    }
    queue.ready.push(message)
    this.#expireLater(queue, message)
    this.#scheduleDispatch(queue)
    return true
  }

  /**
   * A queue with `x-message-ttl` dead-letters (reason `expired`) a message still there once its TTL
   * ran out; a message delivered meanwhile expires when it comes back unacked. The timer is the
   * global `setTimeout` of the moment (the fake one when fake time is installed), unlike the
   * broker's own real timers: a retry delay of a minute takes `clock.advance(60_000)`, not a minute.
   */
  #expireLater(queue: Queue, message: QueuedMessage): void {
    const ttl = queue.args['x-message-ttl']
    if (typeof ttl !== 'number' || message.expiresLater) return
    message.expiresLater = true
    const clear = globalThis.clearTimeout
    let cancel = (): void => undefined
    const timer = globalThis.setTimeout(() => {
      this.#expiries.delete(cancel)
      this.#expire(queue, message)
    }, ttl)
    timer.unref?.()
    cancel = () => {
      this.#expiries.delete(cancel)
      clear(timer)
    }
    this.#expiries.add(cancel)
  }

  #expire(queue: Queue, message: QueuedMessage): void {
    message.expired = true
    if (this.#closed || this.#queues.get(queue.name) !== queue) return
    const index = queue.ready.indexOf(message)
    if (index < 0) return // delivered: it expires if it comes back (#requeue)
    queue.ready.splice(index, 1)
    this.touch()
    this.#deadLetter(queue, message, 'expired')
  }

  #requeue(queue: Queue, message: QueuedMessage): void {
    if (message.expired) {
      this.#deadLetter(queue, message, 'expired')
      return
    }
    message.redelivered = true
    message.returns += 1
    queue.insert(message)
    this.emit('requeued', { id: message.id, queue: queue.name })
    this.#scheduleDispatch(queue)
  }

  /** RabbitMQ delivers as soon as a consumer has room: requeues and publishes are dispatched at once. */
  #scheduleDispatch(queue: Queue): void {
    this.#dispatch(queue)
  }

  /** Delivers ready messages round-robin to the consumers with room under their prefetch. */
  #dispatch(queue: Queue): void {
    if (this.#queues.get(queue.name) !== queue) return
    while (queue.ready.length > 0) {
      const index = queue.consumers.findIndex(
        (c) => c.connection.open && (c.noAck || c.prefetch === 0 || c.unacked < c.prefetch),
      )
      if (index < 0) return
      const consumer = queue.consumers[index] as ConsumerState
      // The consumer that got a message goes to the back of the line (RabbitMQ's round-robin).
      queue.consumers.splice(index, 1)
      queue.consumers.push(consumer)
      const message = queue.ready.shift() as QueuedMessage
      this.#deliver(queue, consumer, message)
    }
  }

  #deliver(queue: Queue, consumer: ConsumerState, message: QueuedMessage): void {
    const connection = consumer.connection
    const tag = connection.nextDeliveryTag()
    const properties = copyProperties(message.properties)
    if (queue.args['x-queue-type'] === 'quorum' && message.returns > 0) {
      ;(properties.headers as Record<string, unknown>)['x-delivery-count'] = message.returns
    }
    if (!consumer.noAck) {
      const outstanding: Outstanding = { tag, consumer, message }
      consumer.unacked += 1
      queue.unacked.add(outstanding)
      connection.outstanding.set(tag, outstanding)
    }
    this.emit('delivered', {
      id: message.id,
      queue: queue.name,
      connection: connection.name,
      redelivered: message.redelivered,
    })
    if (consumer.noAck) this.emit('acked', { id: message.id, queue: queue.name })
    const deliver = consumer.onMessage
    connection.receive(() =>
      deliver({
        content: message.body,
        fields: {
          deliveryTag: tag,
          redelivered: message.redelivered,
          exchange: message.exchange,
          routingKey: message.routingKey,
          consumerTag: consumer.tag,
        },
        properties,
      }),
    )
  }

  /** Dead-letters as RabbitMQ 3.10: `x-death` updated, `x-first-death-*` set once, headers sorted. */
  #deadLetter(queue: Queue, message: QueuedMessage, reason: DeadLetterReason): void {
    const dlx = this.#setting(queue, 'x-dead-letter-exchange', 'deadLetterExchange') as string | undefined
    const exchange = dlx === undefined ? undefined : this.#exchanges.get(dlx)
    if (!exchange) {
      this.emit('discarded', { id: message.id, queue: queue.name, reason })
      return
    }
    const dlrk = this.#setting(queue, 'x-dead-letter-routing-key', 'deadLetterRoutingKey') as string | undefined
    const headers = { ...((message.properties.headers ?? {}) as Record<string, unknown>) }
    const routingKeys = [message.routingKey, ...ccOf(headers)]
    const deaths = Array.isArray(headers['x-death'])
      ? (headers['x-death'] as Array<Record<string, unknown>>)
      : undefined
    if (!deaths) {
      headers['x-first-death-reason'] = reason
      headers['x-first-death-queue'] = queue.name
      headers['x-first-death-exchange'] = message.exchange
      headers['x-death'] = [
        {
          count: 1,
          reason,
          queue: queue.name,
          time: { '!': 'timestamp', value: Math.floor(realNow() / 1000) },
          exchange: message.exchange,
          'routing-keys': routingKeys,
        },
      ]
    } else {
      const match = deaths.find((d) => d.queue === queue.name && d.reason === reason)
      const others = deaths.filter((d) => d !== match)
      const entry = match
        ? sortTable({ ...match, count: Number(match.count ?? 0) + 1 })
        : {
            count: 1,
            reason,
            queue: queue.name,
            time: { '!': 'timestamp', value: Math.floor(realNow() / 1000) },
            exchange: message.exchange,
            'routing-keys': routingKeys,
          }
      headers['x-death'] = [entry, ...others]
    }
    delete headers.BCC
    const properties: MessageProperties = { ...message.properties, headers: sortTable(headers) }
    // A cycle without a rejection in it is dropped (RabbitMQ's rule); rejected messages may loop.
    const skip = new Set<string>()
    if (reason !== 'rejected') {
      const seen = (headers['x-death'] as Array<Record<string, unknown>>) ?? []
      if (!seen.some((d) => d.reason === 'rejected')) for (const d of seen) skip.add(String(d.queue))
    }
    const routed = this.#route(
      exchange,
      dlrk ?? message.routingKey,
      message.body,
      properties,
      false,
      '',
      reason,
      dlrk === undefined ? routingKeys : [dlrk],
      skip,
    )
    this.emit('deadLettered', { id: message.id, queue: queue.name, reason, message: routed.record })
  }

  /** A queue setting: its argument first, else the policy that applies. */
  #setting(queue: Queue, argument: string, key: keyof MemoryPolicy): unknown {
    if (queue.args[argument] !== undefined) return queue.args[argument]
    let best: MemoryPolicy | undefined
    for (const policy of this.#policies.values()) {
      if (!policy.matcher.test(queue.name)) continue
      if (!best || (policy.priority ?? 0) > (best.priority ?? 0)) best = policy
    }
    return best?.[key]
  }

  #deleteQueue(queue: Queue, notifyConsumers: boolean): void {
    if (this.#queues.get(queue.name) !== queue) return
    this.#queues.delete(queue.name)
    queue.owner?.exclusiveQueues.delete(queue)
    for (const exchange of [...this.#exchanges.values()]) {
      const before = exchange.bindings.length
      exchange.bindings = exchange.bindings.filter((b) => b.queue !== queue.name)
      if (exchange.autoDelete && before > 0 && exchange.bindings.length === 0) this.#exchanges.delete(exchange.name)
    }
    const consumers = [...queue.consumers]
    queue.consumers.length = 0
    for (const item of [...queue.unacked]) item.consumer.connection.outstanding.delete(item.tag)
    queue.unacked.clear()
    queue.ready.length = 0
    this.touch()
    if (notifyConsumers) for (const consumer of consumers) consumer.connection.cancelledByBroker(consumer)
  }

  #locked(operation: string, name: string): AmqpError {
    return amqpError(
      405,
      operation,
      `cannot obtain exclusive access to locked queue '${name}' in vhost '${this.vhost}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
    )
  }

  #assertOpen(): void {
    if (this.#closed) throw new TestingError('HARNESS_STATE', 'the memory broker is closed')
  }
}

function matchesFilter(filter: PublishFilter, exchange: string, routingKey: string): boolean {
  return (
    (filter.exchange === undefined || filter.exchange === exchange) &&
    (filter.routingKey === undefined || filter.routingKey === routingKey)
  )
}

function matchesHeaders(bindingArgs: Record<string, unknown>, headers: Record<string, unknown>): boolean {
  const mode = bindingArgs['x-match'] === 'any' ? 'any' : 'all'
  const keys = Object.keys(bindingArgs).filter((k) => !k.startsWith('x-'))
  if (keys.length === 0) return mode === 'all'
  const hit = (k: string): boolean =>
    bindingArgs[k] === undefined || bindingArgs[k] === null ? k in headers : sameArg(headers[k], bindingArgs[k])
  return mode === 'all' ? keys.every(hit) : keys.some(hit)
}

function ccOf(headers: Record<string, unknown>): string[] {
  const cc = headers.CC
  return Array.isArray(cc) ? cc.map(String) : []
}

function sortTable<T extends Record<string, unknown>>(table: T): T {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(table).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
    out[key] = table[key]
  return out as T
}

function sameArg(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return (
      ka.length === kb.length &&
      ka.every((k) => sameArg((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return false
}

/** How RabbitMQ prints a declare argument in an `inequivalent arg` message. */
function describeArg(value: unknown): string {
  if (value === undefined) return 'none'
  let type: string
  if (typeof value === 'string') type = 'longstr'
  else if (typeof value === 'boolean') type = 'bool'
  else if (typeof value === 'number') {
    if (!Number.isInteger(value)) type = 'double'
    else if (value >= -128 && value < 128) type = 'byte'
    else if (value >= -0x8000 && value < 0x8000) type = 'short'
    else if (value >= -0x80000000 && value < 0x80000000) type = 'signedint'
    else type = 'long'
  } else type = 'table'
  return `the value '${String(value)}' of type '${type}'`
}

/** Creates an in-memory broker. */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  return new MemoryBroker(options)
}
