/**
 * The transport seam: the few connection and channel operations the `Supervisor` uses. amqplib
 * implements it in production (`amqplib-transport.ts`); `@am/testing`'s memory broker in tests.
 * Everything above it (states, reconnection, publish buffer and confirm window, acks, shutdown) is
 * the supervisor's, whatever the transport.
 */

/** AMQP message properties as the broker delivers them, headers included. */
export interface MessageProperties {
  contentType?: string | undefined
  contentEncoding?: string | undefined
  headers?: Record<string, unknown> | undefined
  deliveryMode?: number | undefined
  priority?: number | undefined
  correlationId?: string | undefined
  replyTo?: string | undefined
  expiration?: string | undefined
  messageId?: string | undefined
  timestamp?: number | undefined
  type?: string | undefined
  userId?: string | undefined
  appId?: string | undefined
  clusterId?: string | undefined
}

/** The properties and flags of one publish, as the transport sends them. */
export interface PublishProperties {
  mandatory?: boolean
  persistent?: boolean
  deliveryMode?: boolean | number
  expiration?: string | number
  userId?: string
  priority?: number
  contentType?: string
  contentEncoding?: string
  headers?: Record<string, unknown>
  correlationId?: string
  replyTo?: string
  messageId?: string
  timestamp?: number
  type?: string
  appId?: string
}

/** A message delivered to a consumer (`basic.deliver`) or returned (`basic.return`). */
export interface TransportMessage {
  content: Buffer
  fields: {
    deliveryTag: number
    redelivered: boolean
    exchange: string
    routingKey: string
    consumerTag: string
  }
  properties: MessageProperties
}

/** A message taken from a queue with `basic.get`, not acknowledged yet. */
export interface FetchedMessage {
  /** The message body, as stored. */
  readonly content: Buffer
  readonly fields: {
    /** Valid only on the channel that fetched it. */
    readonly deliveryTag: number
    /** Set by the broker when this message was delivered (or fetched) before and not acknowledged. */
    readonly redelivered: boolean
    readonly exchange: string
    readonly routingKey: string
    /** Messages left in the queue after this one. */
    readonly messageCount: number
  }
  readonly properties: MessageProperties
}

/** A message returned as unroutable (`basic.return`). */
export interface TransportReturn {
  content: Buffer
  fields: { exchange: string; routingKey: string; replyCode: number; replyText: string }
  properties: MessageProperties
}

/** What the broker answered to a publish on a confirm channel. */
export type ConfirmOutcome = 'ack' | 'nack' | Error

/** Queue counts, as `queue.declare-ok` gives them. */
export interface QueueInfo {
  queue: string
  messageCount: number
  consumerCount: number
}

/** One AMQP channel. Operations on a closing or closed channel throw a `ChannelError` of code `CHANNEL_CLOSED`. */
export interface TransportChannel {
  assertExchange(
    name: string,
    type: string,
    options: { durable: boolean; autoDelete: boolean; internal: boolean; arguments?: Record<string, unknown> },
  ): Promise<unknown>
  assertQueue(
    name: string,
    options: { durable: boolean; exclusive: boolean; autoDelete: boolean; arguments?: Record<string, unknown> },
  ): Promise<QueueInfo>
  bindQueue(queue: string, exchange: string, routingKey: string): Promise<unknown>
  /** `basic.qos` for the next consumers of this channel. */
  prefetch(count: number): Promise<unknown>
  /** `basic.consume`; `onMessage(null)` when the broker cancels the consumer. */
  consume(
    queue: string,
    onMessage: (message: TransportMessage | null) => void,
    options: { noAck: boolean; exclusive: boolean; arguments?: Record<string, unknown> },
  ): Promise<{ consumerTag: string }>
  cancel(consumerTag: string): Promise<unknown>
  /**
   * Sends a message; on a confirm channel `onConfirm` gets the broker's answer. False when the
   * transport wants the sender to wait for `drain`.
   */
  publish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    properties: PublishProperties,
    onConfirm?: (outcome: ConfirmOutcome) => void,
  ): boolean
  /** `basic.get` without auto-ack: the queue's next message, or `undefined` when it is empty. */
  get(queue: string): Promise<FetchedMessage | undefined>
  /** Passive `queue.declare`: rejects (404) when the queue does not exist. */
  checkQueue(queue: string): Promise<QueueInfo>
  ack(deliveryTag: number, allUpTo: boolean): void
  nack(deliveryTag: number, allUpTo: boolean, requeue: boolean): void
  close(): Promise<void>
  on(event: 'close', listener: (error?: Error) => void): void
  on(event: 'error', listener: (error: Error) => void): void
  on(event: 'drain', listener: () => void): void
  on(event: 'return', listener: (message: TransportReturn) => void): void
}

/** One connection to a broker. */
export interface TransportConnection {
  /** A channel; with `confirm`, in confirm mode. */
  openChannel(options: { confirm: boolean }): Promise<TransportChannel>
  /** Graceful `connection.close`; resolves on close-ok. */
  close(): Promise<void>
  /** Drops the connection at once, whatever it waits for; `close` follows. */
  destroy(): void
  on(event: 'close', listener: (error?: Error) => void): void
  on(event: 'error', listener: (error: Error) => void): void
  on(event: 'blocked', listener: (reason: string) => void): void
  on(event: 'unblocked', listener: () => void): void
}

/** What a transport needs to open a connection. */
export interface ConnectTarget {
  /** The broker URL, as the user gave it (credentials included). */
  url: string
  connectionName: string
  heartbeatSeconds: number
  connectTimeoutMs: number
}

/** Opens connections to a broker. */
export interface Transport {
  /** The URL as logs may show it (no password); throws `OPTIONS_INVALID` for a URL it cannot use. */
  describeUrl(url: string): string
  /** Opens a connection; rejects with a `ConnectionError` of code `CONNECTION_FAILED` saying why. */
  connect(target: ConnectTarget): Promise<TransportConnection>
}

/** A scheduled callback; `cancel` is idempotent. */
export interface TimerHandle {
  cancel(): void
}

/**
 * The supervisor's clock: real timers in production, a fake clock in tests (`@am/testing`), so
 * that reconnection delays and close budgets follow it.
 */
export interface Timers {
  /** Milliseconds, monotonic. */
  now(): number
  /** Runs `callback` after `ms`; with `keepAlive: false` the timer alone does not keep the process up. */
  setTimeout(callback: () => void, ms: number, options?: { keepAlive?: boolean }): TimerHandle
  /** Runs `callback` on the next turn of the event loop, after I/O (`setImmediate`). */
  defer(callback: () => void): void
}

/** Node's timers. */
export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout(callback, ms, options) {
    const timer = setTimeout(callback, ms)
    if (options?.keepAlive === false) timer.unref()
    return { cancel: () => clearTimeout(timer) }
  },
  defer(callback) {
    setImmediate(callback)
  },
}
