import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { type Channel, type ChannelModel, connect, type Options } from 'amqplib'

/** The broker of the benchmarks: `AMQP_URL`, else the local one on the `am-test` vhost. */
export const url: string = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/am-test'

/** A name no other run or test uses: `<prefix>-<8 hex digits>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

/** A plain amqplib connection with TCP_NODELAY, as every implementation measured here uses (to `url` unless told). */
export function open(name: string, brokerUrl: string = url): Promise<ChannelModel> {
  return connect(brokerUrl, { noDelay: true, clientProperties: { connection_name: name } })
}

/** Runs `work` on a short-lived connection and channel, then closes them. */
export async function withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await open(uniqueName('bench-admin'))
  try {
    const channel = await connection.createChannel()
    return await work(channel)
  } finally {
    await connection.close()
  }
}

/** The broker's product and version, as it announces them. */
export async function brokerVersion(): Promise<string> {
  const connection = await open(uniqueName('bench-version'))
  const properties = (connection.connection as unknown as { serverProperties?: Record<string, unknown> })
    .serverProperties
  await connection.close()
  return `${String(properties?.product ?? 'unknown')} ${String(properties?.version ?? '')}`.trim()
}

/** Durable queues, declared as eventail declares them (no arguments), bound to `exchange` with `routingKey`. */
export async function declareDurableQueue(name: string, exchange: string, routingKey: string): Promise<void> {
  await withChannel(async (channel) => {
    await channel.assertExchange(exchange, 'topic', { durable: true })
    await channel.assertQueue(name, { durable: true, exclusive: false, autoDelete: false })
    await channel.bindQueue(name, exchange, routingKey)
  })
}

/** Deletes queues (missing ones included). */
export async function deleteQueues(names: string[]): Promise<void> {
  await withChannel(async (channel) => {
    for (const name of names) await channel.deleteQueue(name)
  })
}

/** Messages ready in a queue. */
export async function messageCount(name: string): Promise<number> {
  return withChannel(async (channel) => (await channel.checkQueue(name)).messageCount)
}

/**
 * Publishes `count` copies of `body` to `exchange` with `routingKey` on a confirm channel, with
 * back-pressure, and waits for every confirm.
 */
export async function preload(
  exchange: string,
  routingKey: string,
  count: number,
  body: Buffer,
  properties: Options.Publish,
): Promise<void> {
  const connection = await open(uniqueName('bench-preload'))
  try {
    const channel = await connection.createConfirmChannel()
    for (let i = 0; i < count; i++) {
      if (!channel.publish(exchange, routingKey, body, properties)) {
        await new Promise((resolve) => channel.once('drain', resolve))
      }
      if (i % 5000 === 4999) await channel.waitForConfirms()
    }
    await channel.waitForConfirms()
  } finally {
    await connection.close()
  }
}

/** Event properties exactly as eventail (and @am/service) sends them. */
export function eventProperties(conversationId: string): Options.Publish {
  return {
    contentType: 'application/cbor',
    headers: { conversation_id: conversationId },
    deliveryMode: 2,
    correlationId: '',
    replyTo: '',
  }
}

let gcFunction: (() => void) | undefined

/** Runs a full garbage collection, so that one run's garbage is not collected during the next one. */
export function collectGarbage(): void {
  if (!gcFunction) {
    setFlagsFromString('--expose-gc')
    gcFunction = runInNewContext('gc') as () => void
  }
  gcFunction()
}

/** Counts `basic.ack` frames and how many of them are `multiple`, for every amqplib channel of the process. */
export interface AckCounter {
  frames: number
  multiple: number
  reset(): void
}

/** Wraps amqplib's `Channel#ack` (shared by every channel, ours and the baseline's) to count ack frames. */
export async function countAckFrames(): Promise<AckCounter> {
  const connection = await open(uniqueName('bench-probe'))
  const channel = await connection.createChannel()
  await connection.close()
  const counter: AckCounter = {
    frames: 0,
    multiple: 0,
    reset() {
      counter.frames = 0
      counter.multiple = 0
    },
  }
  // ConfirmChannel extends Channel: walk up to the prototype that defines ack.
  let proto = Object.getPrototypeOf(channel) as { ack: Channel['ack'] } | null
  while (proto && !Object.hasOwn(proto, 'ack')) proto = Object.getPrototypeOf(proto) as typeof proto
  if (!proto) throw new Error('amqplib Channel#ack not found')
  const original = proto.ack
  proto.ack = function ack(this: Channel, message, allUpTo) {
    counter.frames += 1
    if (allUpTo) counter.multiple += 1
    return original.call(this, message, allUpTo)
  }
  return counter
}
