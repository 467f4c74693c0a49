import { encode } from '@am/codec'
import { type Handlers, Service, type ServiceOptions } from '@am/service'
import type { ConsumeMessage } from 'amqplib'
import { Encoder } from 'cbor-x'
import {
  declareDurableQueue,
  deleteQueues,
  eventProperties,
  messageCount,
  open,
  preload,
  uniqueName,
  url,
} from './amqp.js'
import { makePayload } from './payload.js'

/** The relays' implementations, as tables and JSON name them. */
export const OURS = '@am/service Service'
/** The same service with `metrics: false`: what the per-routing-key metrics cost. */
export const OURS_NO_METRICS = '@am/service, metrics off'
export const RAW = 'raw amqplib'

const EXCHANGE = 'events'

/** The ~1 KiB CBOR event every relay run carries. */
export const relayBody: Buffer = encode(makePayload(4))

const cbor = new Encoder({ useRecords: false })

/** Names of one relay run: events come in on `inKey` into `input`, go out on `outKey` into `sink`. */
export interface RelayPlan {
  name: string
  input: string
  inKey: string
  sink: string
  outKey: string
  messages: number
}

/** Unique names for one run; `name` is also the service name, so `input` is `<name>.events` as eventail names it. */
export function planRelay(prefix: string, messages: number): RelayPlan {
  const name = uniqueName(prefix)
  return {
    name,
    input: `${name}.events`,
    inKey: `${name}.Incoming`,
    sink: uniqueName('bench-sink'),
    outKey: `${name}.Relayed`,
    messages,
  }
}

/** Declares the durable input and sink queues and pre-loads the input on a confirm channel. */
export async function prepareRelay(plan: RelayPlan): Promise<void> {
  await declareDurableQueue(plan.input, EXCHANGE, plan.inKey)
  await declareDurableQueue(plan.sink, EXCHANGE, plan.outKey)
  await preload(EXCHANGE, plan.inKey, plan.messages, relayBody, eventProperties(uniqueName('bench-conversation')))
}

/** Checks that every message reached the sink, then deletes both queues (also after a failure). */
export async function cleanUpRelay(plan: RelayPlan): Promise<void> {
  let relayed = -1
  try {
    relayed = await messageCount(plan.sink)
  } finally {
    await deleteQueues([plan.input, plan.sink])
  }
  if (relayed !== plan.messages) throw new Error(`the sink holds ${relayed} messages instead of ${plan.messages}`)
}

/** Called by both implementations at the same points, so that they cost both the same. */
export interface RelayHooks {
  /** The first delivery arrived. */
  first(): void
  /** `count` messages relayed (publish confirmed; the ack is sent or about to be). */
  relayed(count: number): void
}

/** A relay under way. */
export interface RelayRun {
  /** Resolves once every message is relayed and its ack sent. */
  finished: Promise<void>
  close(): Promise<void>
}

/** Ours: a `Service` whose handler publishes one event per event; the framework acks after the confirm. */
export async function relayWithService(
  plan: RelayPlan,
  prefetch: number,
  hooks: RelayHooks,
  metrics = true,
  broker: {
    urls?: string | readonly string[]
    queueType?: 'classic' | 'quorum'
    /** The framework's local log (none by default). */
    logger?: ServiceOptions['logger']
    /** Called with each state the service enters (`reconnecting`, `ready`…). */
    onState?: (state: string) => void
  } = {},
): Promise<RelayRun> {
  const { name, inKey, outKey, messages } = plan
  let started = false
  let count = 0
  let done: () => void = () => {}
  const allRelayed = new Promise<void>((resolve) => {
    done = resolve
  })
  class Relay extends Service {
    readonly name = name
    protected handlers(): Handlers {
      return {
        events: {
          [inKey]: async (payload, ctx) => {
            if (!started) {
              started = true
              hooks.first()
            }
            await ctx.publishEvent(outKey, payload)
            count += 1
            hooks.relayed(count)
            if (count === messages) done()
          },
        },
      }
    }
  }
  const service = new Relay({
    urls: broker.urls ?? url,
    prefetch,
    handleSignals: false,
    metrics,
    ...(broker.queueType ? { queueType: broker.queueType } : {}),
    ...(broker.logger ? { logger: broker.logger } : {}),
  })
  if (broker.onState) service.on('state', broker.onState)
  await service.start()
  const finished = allRelayed.then(async () => {
    // The framework acks once the handler's publish is confirmed, on a later turn of the loop.
    while ((service.supervisor?.stats().unsettled ?? 0) > 0) await new Promise((resolve) => setImmediate(resolve))
  })
  return { finished, close: () => service.stop() }
}

/**
 * Baseline: raw amqplib with the same guarantees. One connection, a consume channel and a confirm
 * channel; cbor-x decodes and re-encodes; each message is acked (alone) once its output is confirmed.
 */
export async function relayWithAmqplib(
  plan: RelayPlan,
  prefetch: number,
  hooks: RelayHooks,
  brokerUrl: string = url,
): Promise<RelayRun> {
  const { name, input, outKey, messages } = plan
  let started = false
  let count = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    done = resolve
  })
  const connection = await open(name, brokerUrl)
  const consumer = await connection.createChannel()
  const publisher = await connection.createConfirmChannel()
  await consumer.prefetch(prefetch)
  await consumer.consume(input, (message: ConsumeMessage | null) => {
    if (!message) return
    if (!started) {
      started = true
      hooks.first()
    }
    const output = cbor.encode(cbor.decode(message.content))
    const conversationId = message.properties.headers?.conversation_id as string
    publisher.publish(EXCHANGE, outKey, output, eventProperties(conversationId), (error: unknown) => {
      if (error) {
        consumer.nack(message, false, true)
        return
      }
      consumer.ack(message)
      count += 1
      hooks.relayed(count)
      if (count === messages) done()
    })
  })
  return { finished, close: () => connection.close() }
}
