import { type Delivery, defineTopology, eventailTopology, type Supervisor } from '@am/bus-core'
import {
  type CliContext,
  connectBus,
  describeDelivery,
  type FieldFilter,
  logLevelOf,
  type MonitoredMessage,
  type MonitoredOrigin,
  matchesFilters,
  parseLog,
} from '@am/cli-kit'
import { EXCHANGES, matchesTopic, TOOL_PREFETCH } from '@am/protocol'
import { toView } from './view.js'

/** The streams of live traffic: the monitor's kinds and the logger's logs. */
export type LiveStream = 'event' | 'command' | 'result' | 'configuration' | 'malformed' | 'log'

/** One message seen live, as sent to the page: the monitor's envelope fields, and what the page needs. */
export interface LiveItem
  extends Pick<
    MonitoredMessage,
    'exchange' | 'routingKey' | 'conversationId' | 'correlationId' | 'replyTo' | 'status'
  > {
  seq: number
  /** When the console received it (ISO). */
  at: string
  stream: LiveStream
  /** The queue of the console it arrived on (events, commands, configurations, logs). */
  origin: MonitoredOrigin | 'logs'
  /** Log level (0-7) for logs. */
  level?: number
  /** The decoded payload (or GELF record) made JSON by `toView`. */
  payload?: unknown
  headers?: unknown
  /** Why it is malformed or does not decode. */
  error?: string
  body?: { $bytes: string; length: number }
  size: number
}

/** What one page watches: topic patterns per origin (none = not that origin), the monitor's field filters, the logger's level. */
export interface LiveFilter {
  events: string[]
  commands: string[]
  configurations: string[]
  logs: string[]
  fields: FieldFilter[]
  /** Keep logs whose level is at most this (0 EMERGENCY … 7 DEBUG). */
  level?: number
}

interface Held {
  item: LiveItem
  /** The decoded payload, for the field filters; left out above 1 MiB. */
  payload: unknown
}

/** A subscription: `send` receives the items passing `filter`. */
export interface LiveSubscriber {
  filter: LiveFilter
  send(item: LiveItem): void
}

/** The live traffic of the bus, shared by every page. */
export interface LiveHub extends AsyncDisposable {
  subscribe(subscriber: LiveSubscriber): () => void
  /** The items still held (the last `keep`), oldest first, passing `filter`. */
  recent(filter?: (item: LiveItem) => boolean): LiveItem[]
  close(): Promise<void>
}

/**
 * Watches the bus as am-monitor (exclusive server-named queues bound with `#` on events, commands
 * and configurations, each delivery classified by `describeDelivery` and acked) and am-logger
 * (a queue bound with `#` on logs, no acks, `parseLog`) do; publishes nothing. Keeps the last
 * `keep` items for the conversation view.
 */
export async function startLiveHub(
  ctx: CliContext,
  url: string,
  options: { connectTimeoutMs: number; keep?: number },
): Promise<LiveHub> {
  const keep = options.keep ?? 2000
  const held: Held[] = []
  const subscribers = new Set<LiveSubscriber>()
  let seq = 0
  const buses: Supervisor[] = []
  const close = async (): Promise<void> => {
    subscribers.clear()
    await Promise.allSettled(buses.splice(0).map((bus) => bus.close()))
  }
  const emit = (item: LiveItem, payload: unknown): void => {
    held.push({ item, payload })
    if (held.length > keep) held.shift()
    for (const subscriber of subscribers) {
      if (passes(subscriber.filter, item, payload)) subscriber.send(item)
    }
  }
  try {
    const monitor = await connectBus(ctx, url, {
      tool: 'console-monitor',
      topology: eventailTopology({
        service: 'debug_console',
        events: ['#'],
        commands: ['#'],
        configurations: ['#'],
        exclusive: true,
      }),
      connectTimeoutMs: options.connectTimeoutMs,
    })
    buses.push(monitor)
    const logs = await connectBus(ctx, url, {
      tool: 'console-logger',
      topology: defineTopology({
        exchanges: [{ name: EXCHANGES.logs, type: 'topic' }],
        queues: [{ key: 'logs', name: '' }],
        bindings: [{ queue: 'logs', exchange: EXCHANGES.logs, routingKey: '#' }],
      }),
      connectTimeoutMs: options.connectTimeoutMs,
    })
    buses.push(logs)
    for (const origin of ['events', 'commands', 'configurations'] as const) {
      await monitor.consume(
        origin,
        (delivery) => {
          try {
            seq += 1
            const { item, payload } = fromDelivery(origin, delivery, seq)
            emit(item, payload)
          } finally {
            delivery.ack()
          }
        },
        { prefetch: TOOL_PREFETCH },
      )
    }
    await logs.consume(
      'logs',
      (delivery) => {
        const line = parseLog(delivery.routingKey, delivery.body)
        const level = logLevelOf(line)
        const record = line.log ?? undefined
        const conversation = record?._conversation_id
        seq += 1
        emit(
          {
            seq,
            at: new Date().toISOString(),
            stream: 'log',
            origin: 'logs',
            exchange: delivery.exchange,
            routingKey: delivery.routingKey,
            conversationId: typeof conversation === 'string' ? conversation : '',
            correlationId: '',
            replyTo: '',
            status: '',
            ...(level !== undefined ? { level } : {}),
            ...(record ? { payload: toView(record) } : { error: 'not GELF JSON', payload: line.raw }),
            size: delivery.body.length,
          },
          record,
        )
      },
      { noAck: true },
    )
  } catch (error) {
    await close()
    throw error
  }
  return {
    subscribe(subscriber) {
      subscribers.add(subscriber)
      return () => subscribers.delete(subscriber)
    },
    recent(filter) {
      return held.map(({ item }) => item).filter((item) => !filter || filter(item))
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

function fromDelivery(origin: MonitoredOrigin, delivery: Delivery, seq: number): Held {
  const message = describeDelivery(origin, delivery)
  const item: LiveItem = {
    seq,
    at: new Date().toISOString(),
    stream: message.kind,
    origin,
    exchange: message.exchange,
    routingKey: message.routingKey,
    conversationId: message.conversationId,
    correlationId: message.correlationId,
    replyTo: message.replyTo,
    status: message.status,
    headers: toView(message.headers),
    size: delivery.body.length,
  }
  if (message.body !== undefined)
    item.body = { $bytes: Buffer.from(message.body.subarray(0, 4096)).toString('hex'), length: message.body.length }
  else item.payload = toView(message.payload, 4096)
  if (message.kind === 'malformed') item.error = `${message.reason ?? ''}: ${message.error ?? ''}`
  return { item, payload: delivery.body.length > 1024 * 1024 ? undefined : message.payload }
}

/** Whether an item passes a page's filter: its origin's patterns, the field filters (not for logs), the level (logs). */
export function passes(filter: LiveFilter, item: LiveItem, payload: unknown): boolean {
  const patterns = filter[item.origin]
  if (!patterns.some((pattern) => matchesTopic(pattern, item.routingKey))) return false
  if (item.origin === 'logs')
    return filter.level === undefined || item.level === undefined || item.level <= filter.level
  return matchesFilters(payload, filter.fields)
}
