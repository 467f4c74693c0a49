import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { type Channel, type ChannelModel, type ConfirmChannel, connect, type Message } from 'amqplib'
import { batchWrites, destroySocket, isChannelClosing, isNackedConfirm } from './amqplib-internals.js'
import { parseAmqpUrl, socketOptions } from './connection-url.js'
import { ChannelError, describeConnectFailure } from './errors.js'
import type {
  ConfirmOutcome,
  ConnectTarget,
  FetchedMessage,
  QueueInfo,
  Transport,
  TransportChannel,
  TransportConnection,
  TransportMessage,
} from './transport.js'

/** The production transport: amqplib over TCP or TLS. @internal */
export function amqplibTransport(tls?: TlsOptions): Transport {
  return {
    describeUrl: (url) => parseAmqpUrl(url, 0).safe,
    async connect(target: ConnectTarget): Promise<TransportConnection> {
      const url = parseAmqpUrl(target.url, target.heartbeatSeconds)
      let model: ChannelModel
      try {
        model = await connect(
          url.options,
          socketOptions(target.connectionName, target.connectTimeoutMs, tls, url.tls) as Parameters<typeof connect>[1],
        )
      } catch (error) {
        throw describeConnectFailure(error, {
          safeUrl: url.safe,
          hostname: url.options.hostname ?? 'localhost',
          port: url.options.port ?? (url.tls ? 5671 : 5672),
          username: url.options.username ?? 'guest',
          vhost: url.options.vhost ?? '/',
          tls: url.tls,
          timeoutMs: target.connectTimeoutMs,
        })
      }
      batchWrites(model)
      return new AmqplibConnection(model)
    },
  }
}

/** @internal */
export class AmqplibConnection implements TransportConnection {
  constructor(readonly model: ChannelModel) {}

  async openChannel(options: { confirm: boolean }): Promise<TransportChannel> {
    const channel = options.confirm ? await this.model.createConfirmChannel() : await this.model.createChannel()
    return new AmqplibChannel(channel)
  }

  /** A raw amqplib channel, for `Supervisor.withChannel`. */
  rawChannel(): Promise<Channel> {
    return this.model.createChannel()
  }

  close(): Promise<void> {
    return this.model.close()
  }

  destroy(): void {
    destroySocket(this.model)
  }

  on(event: string, listener: (...args: never[]) => void): void {
    this.model.on(event, listener as (...args: unknown[]) => void)
  }
}

/** amqplib throws synchronously on a closing channel: said as our `CHANNEL_CLOSED`. */
function closedChannel(error: unknown): unknown {
  return isChannelClosing(error)
    ? new ChannelError('CHANNEL_CLOSED', (error as Error).message, { cause: error })
    : error
}

class AmqplibChannel implements TransportChannel {
  constructor(private readonly channel: Channel | ConfirmChannel) {}

  assertExchange(
    name: string,
    type: string,
    options: { durable: boolean; autoDelete: boolean; internal: boolean; arguments?: Record<string, unknown> },
  ): Promise<unknown> {
    return this.channel.assertExchange(name, type, options)
  }

  assertQueue(
    name: string,
    options: { durable: boolean; exclusive: boolean; autoDelete: boolean; arguments?: Record<string, unknown> },
  ): Promise<QueueInfo> {
    return this.channel.assertQueue(name, options)
  }

  bindQueue(queue: string, exchange: string, routingKey: string): Promise<unknown> {
    return this.channel.bindQueue(queue, exchange, routingKey)
  }

  prefetch(count: number): Promise<unknown> {
    return this.channel.prefetch(count, false)
  }

  consume(
    queue: string,
    onMessage: (message: TransportMessage | null) => void,
    options: { noAck: boolean; exclusive: boolean; arguments?: Record<string, unknown> },
  ): Promise<{ consumerTag: string }> {
    return this.channel.consume(queue, onMessage as (message: Message | null) => void, options)
  }

  cancel(consumerTag: string): Promise<unknown> {
    return this.channel.cancel(consumerTag)
  }

  publish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    properties: Record<string, unknown>,
    onConfirm?: (outcome: ConfirmOutcome) => void,
  ): boolean {
    try {
      if (!onConfirm) return this.channel.publish(exchange, routingKey, body, properties)
      return (this.channel as ConfirmChannel).publish(exchange, routingKey, body, properties, (error: unknown) =>
        onConfirm(!error ? 'ack' : isNackedConfirm(error) ? 'nack' : (error as Error)),
      )
    } catch (error) {
      throw closedChannel(error)
    }
  }

  async get(queue: string): Promise<FetchedMessage | undefined> {
    const message = await this.channel.get(queue, { noAck: false })
    return message === false ? undefined : message
  }

  checkQueue(queue: string): Promise<QueueInfo> {
    return this.channel.checkQueue(queue)
  }

  ack(deliveryTag: number, allUpTo: boolean): void {
    try {
      this.channel.ack({ fields: { deliveryTag } } as Message, allUpTo)
    } catch (error) {
      throw closedChannel(error)
    }
  }

  nack(deliveryTag: number, allUpTo: boolean, requeue: boolean): void {
    try {
      this.channel.nack({ fields: { deliveryTag } } as Message, allUpTo, requeue)
    } catch (error) {
      throw closedChannel(error)
    }
  }

  close(): Promise<void> {
    return this.channel.close()
  }

  on(event: string, listener: (...args: never[]) => void): void {
    this.channel.on(event, listener as (...args: unknown[]) => void)
  }
}
