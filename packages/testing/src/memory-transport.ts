import {
  ChannelError,
  type ConfirmOutcome,
  ConnectionError,
  type FetchedMessage,
  type PublishProperties,
  type QueueInfo,
  type Timers,
  type Transport,
  type TransportChannel,
  type TransportConnection,
  type TransportMessage,
  type TransportReturn,
} from '@am/bus-core'
import { amqpError } from './amqp-errors.js'
import type { MemoryBroker } from './broker.js'
import type { BrokerConnection } from './connection.js'
import { toMessageProperties } from './properties.js'
import type { Outstanding } from './queue.js'
import { realNow } from './timers.js'

type Listener = (...args: never[]) => void

/**
 * Deliveries taken with `basic.get`. Delivery tags are per connection here (per channel on
 * RabbitMQ): a multiple ack on the consuming channel must not cover them.
 */
const taken = new WeakSet<Outstanding>()

/** Event listeners by event name (the transport seam's `on`). */
class Listeners {
  readonly #byEvent = new Map<string, Listener[]>()

  on(event: string, listener: Listener): void {
    const list = this.#byEvent.get(event) ?? []
    list.push(listener)
    this.#byEvent.set(event, list)
  }

  emit(event: string, ...args: unknown[]): void {
    for (const listener of this.#byEvent.get(event) ?? []) (listener as (...a: unknown[]) => void)(...args)
  }
}

/**
 * The transport seam of `@am/bus-core` over a `MemoryBroker`: bus-core's own `Supervisor` runs on
 * it. Client operations travel as over a socket (in order, on later turns of the event loop).
 * @internal
 */
export function memoryTransport(broker: MemoryBroker): Transport {
  return {
    describeUrl: (url) => url,
    connect: (target) =>
      new Promise<TransportConnection>((resolve, reject) => {
        broker.later(() => {
          try {
            resolve(new MemoryConnection(broker, broker.connect(target.connectionName)))
          } catch (error) {
            reject(
              new ConnectionError(
                'CONNECTION_FAILED',
                `no broker at ${broker.url}: ${(error as Error).message}: start RabbitMQ or fix the URL`,
                { cause: error, failure: 'unreachable' },
              ),
            )
          }
        })
      }),
  }
}

/**
 * The supervisor's clock on a memory broker: real time (fake timers installed for the service do
 * not move the bus), each timer counted as work pending for `broker.idle()`.
 * @internal
 */
export function memoryTimers(broker: MemoryBroker): Timers {
  return {
    now: realNow,
    setTimeout(callback, ms) {
      const cancel = broker.later(callback, ms)
      return { cancel }
    },
    defer(callback) {
      broker.later(callback)
    },
  }
}

class MemoryConnection implements TransportConnection {
  readonly #listeners = new Listeners()
  readonly #channels = new Set<MemoryChannel>()
  #closing: Promise<void> | undefined
  #closedNow: (() => void) | undefined

  constructor(
    readonly broker: MemoryBroker,
    readonly connection: BrokerConnection,
  ) {
    connection.onClosed = (error) => {
      for (const channel of [...this.#channels]) channel.closed(undefined)
      this.#closedNow?.()
      this.#listeners.emit('close', error)
    }
  }

  openChannel(options: { confirm: boolean }): Promise<TransportChannel> {
    return this.#rpc(() => {
      const channel = new MemoryChannel(this.broker, this.connection, options.confirm, (c) => this.#channels.delete(c))
      this.#channels.add(channel)
      return channel
    })
  }

  /** Resolves once the connection is closed, by this close or otherwise (a drop). */
  close(): Promise<void> {
    if (!this.connection.open) return Promise.resolve()
    this.#closing ??= new Promise<void>((resolve) => {
      this.#closedNow = resolve
      void this.connection.close()
    })
    return this.#closing
  }

  destroy(): void {
    this.connection.drop(undefined)
  }

  on(event: string, listener: Listener): void {
    this.#listeners.on(event, listener)
  }

  #rpc<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.broker.later(() => {
        if (!this.connection.open) reject(new Error('Connection closed'))
        else resolve(work())
      })
    })
  }
}

class MemoryChannel implements TransportChannel {
  readonly #listeners = new Listeners()
  #open = true
  #prefetch = 0
  readonly #closeWaiters: Array<() => void> = []
  /** Messages taken with `get` and not settled: back to their queue when the channel closes. */
  readonly #fetched = new Set<Outstanding>()

  constructor(
    readonly broker: MemoryBroker,
    readonly connection: BrokerConnection,
    readonly confirm: boolean,
    readonly onClose: (channel: MemoryChannel) => void,
  ) {}

  /** The channel is gone (closed by the broker with `error`, or with its connection). */
  closed(error: Error | undefined): void {
    if (!this.#open) return
    this.#open = false
    this.onClose(this)
    for (const item of this.#fetched) {
      if (this.connection.outstanding.delete(item.tag)) this.broker.settle(item, 'requeue')
    }
    this.#fetched.clear()
    for (const resolve of this.#closeWaiters.splice(0)) resolve()
    this.#listeners.emit('close', error)
  }

  assertExchange(
    name: string,
    type: string,
    options: { durable: boolean; autoDelete: boolean; internal: boolean; arguments?: Record<string, unknown> },
  ): Promise<unknown> {
    return this.#rpc(() =>
      this.broker.assertExchange(this.connection, name, type as Parameters<MemoryBroker['assertExchange']>[2], options),
    )
  }

  assertQueue(
    name: string,
    options: { durable: boolean; exclusive: boolean; autoDelete: boolean; arguments?: Record<string, unknown> },
  ): Promise<QueueInfo> {
    return this.#rpc(() => {
      const queue = this.broker.assertQueue(this.connection, name, options)
      const snapshot = this.broker.queue(queue)
      return { queue, messageCount: snapshot?.messages.length ?? 0, consumerCount: snapshot?.consumers ?? 0 }
    })
  }

  checkQueue(name: string): Promise<QueueInfo> {
    return this.#rpc(() => {
      const snapshot = this.broker.queue(name)
      if (!snapshot) throw amqpError(404, 'QueueDeclare', `no queue '${name}' in vhost '${this.broker.vhost}'`)
      return { queue: name, messageCount: snapshot.messages.length, consumerCount: snapshot.consumers }
    })
  }

  bindQueue(queue: string, exchange: string, routingKey: string): Promise<unknown> {
    return this.#rpc(() => this.broker.bindQueue(this.connection, queue, exchange, routingKey))
  }

  prefetch(count: number): Promise<unknown> {
    return this.#rpc(() => {
      this.#prefetch = count
    })
  }

  consume(
    queue: string,
    onMessage: (message: TransportMessage | null) => void,
    options: { noAck: boolean; exclusive: boolean; arguments?: Record<string, unknown> },
  ): Promise<{ consumerTag: string }> {
    return this.#rpc(() => {
      const state = this.broker.consume(
        this.connection,
        queue,
        { prefetch: this.#prefetch, noAck: options.noAck, exclusive: options.exclusive },
        onMessage,
      )
      this.connection.consumers.set(state.tag, state)
      return { consumerTag: state.tag }
    })
  }

  cancel(consumerTag: string): Promise<unknown> {
    return this.#rpc(() => this.connection.cancel(consumerTag))
  }

  get(queue: string): Promise<FetchedMessage | undefined> {
    return this.#rpc(() => {
      const got = this.broker.get(this.connection, queue)
      if (!got) return undefined
      this.#fetched.add(got.outstanding)
      taken.add(got.outstanding)
      return got.message
    })
  }

  publish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: PublishProperties,
    onConfirm?: (outcome: ConfirmOutcome) => void,
  ): boolean {
    this.#assertOpen()
    const { mandatory = false, ...rest } = options
    // Throws as amqplib does for an invalid property: the publish rejects with PUBLISH_INVALID.
    const properties = toMessageProperties(rest)
    const connection = this.connection
    const broker = this.broker
    connection.send(() => {
      const answer = broker.publishFrom(connection, exchange, routingKey, body, properties, mandatory, !!onConfirm)
      if (!onConfirm) return
      if (answer.returned) {
        const returned: TransportReturn = {
          content: body,
          fields: { exchange, routingKey, replyCode: 312, replyText: 'NO_ROUTE' },
          properties: answer.returned.properties,
        }
        this.#listeners.emit('return', returned)
      }
      const outcome: ConfirmOutcome = answer.nacked ? 'nack' : 'ack'
      const delayMs = broker.confirmDelayMs
      const deliver = (): void => {
        if (connection.open) onConfirm(outcome)
      }
      if (delayMs > 0) broker.later(deliver, delayMs)
      else deliver()
    })
    return true
  }

  ack(deliveryTag: number, allUpTo: boolean): void {
    this.#assertOpen()
    this.#settle(deliveryTag, allUpTo, 'ack')
  }

  nack(deliveryTag: number, allUpTo: boolean, requeue: boolean): void {
    this.#assertOpen()
    this.#settle(deliveryTag, allUpTo, requeue ? 'requeue' : 'reject')
  }

  /** Resolves once the channel is closed, by this close or with its connection. */
  close(): Promise<void> {
    if (!this.#open) return Promise.resolve()
    // Operations sent before the close reach the broker first, as on a socket.
    return new Promise<void>((resolve) => {
      this.#closeWaiters.push(resolve)
      if (!this.connection.send(() => this.closed(undefined))) this.closed(undefined)
    })
  }

  on(event: string, listener: Listener): void {
    this.#listeners.on(event, listener)
  }

  #settle(tag: number, allUpTo: boolean, action: 'ack' | 'requeue' | 'reject'): void {
    const connection = this.connection
    connection.send(() => {
      const tags = allUpTo ? [...connection.outstanding.keys()].filter((t) => t <= tag) : [tag]
      for (const t of tags) {
        const item = connection.outstanding.get(t)
        // Only this channel's deliveries (see `taken`).
        if (!item || taken.has(item) !== this.#fetched.has(item)) continue
        connection.outstanding.delete(t)
        this.#fetched.delete(item)
        this.broker.settle(item, action)
      }
    })
    this.broker.touch()
  }

  #assertOpen(): void {
    if (!this.#open || !this.connection.open) throw new ChannelError('CHANNEL_CLOSED', 'Channel closed')
  }

  /** A request answered on a later turn; a refusal closes the channel, as RabbitMQ does. */
  #rpc<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.broker.later(() => {
        if (!this.#open || !this.connection.open) {
          reject(new Error('Channel closed'))
          return
        }
        try {
          resolve(work())
        } catch (error) {
          reject(error)
          this.closed(error as Error)
        }
      })
    })
  }
}
