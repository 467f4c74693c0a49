// A spy on the whole bus: one exclusive server-named queue per exchange, bound with `#`, consumed
// without acks. The queues vanish with the connection, so a spy leaves nothing behind.
import { hostname } from 'node:os'
import {
  createSupervisor,
  type Delivery,
  defineTopology,
  EXCHANGES,
  type Logger,
  type SupervisorLike,
  type SupervisorOptions,
} from '@am/bus-core'
import { isRefusal, openEnvelope } from '@am/service'

/** What the spy tells apart; `malformed` fails the envelope checks of its exchange. */
export type SpiedKind = 'event' | 'command' | 'result' | 'configuration' | 'log' | 'malformed'

/** One message seen on the bus. */
export interface SpiedMessage {
  kind: SpiedKind
  routingKey: string
  /** `''` when the message has none (configurations). */
  conversationId: string
  /** A result's status, or a log's level name; `''` otherwise. */
  status: string
  /** The payload as short JSON, or a log's short message. */
  summary: string
  /** The exchange it was published to. */
  exchange: string
  /** The body as delivered. */
  body: Buffer
}

/** Options of `watchBus`. */
export interface WatchBusOptions {
  urls: string | readonly string[]
  /** Called for every message, in the order each exchange delivers them. */
  onMessage: (message: SpiedMessage) => void
  /**
   * How long the first connection may take, in ms; later losses are recovered.
   * @default 5000
   */
  connectTimeoutMs?: number
  /** @default null */
  logger?: Logger | null
  /** Another transport, e.g. `@am/testing`'s in-memory broker. @default createSupervisor */
  supervisorFactory?: (options: SupervisorOptions) => SupervisorLike
  /**
   * Longest summary, in characters.
   * @default 72
   */
  summaryLength?: number
}

/** A running spy. */
export interface BusWatch {
  /** Closes the connection; the spy's queues go with it. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

const SPIED = [EXCHANGES.events, EXCHANGES.commands, EXCHANGES.configurations, EXCHANGES.logs] as const

/**
 * Connects a spy to the bus. Rejects with the connection error when the first connection attempt
 * fails (no broker, wrong credentials, a vhost that does not exist).
 * @example
 * await using spy = await watchBus({ urls, onMessage: (m) => console.log(m.kind, m.routingKey) })
 */
export async function watchBus(options: WatchBusOptions): Promise<BusWatch> {
  const topology = defineTopology({
    exchanges: SPIED.map((name) => ({ name, type: 'topic', ...(name === EXCHANGES.logs ? { channel: 'log' } : {}) })),
    queues: SPIED.map((name) => ({ key: name, name: '' })),
    bindings: SPIED.map((name) => ({ queue: name, exchange: name, routingKey: '#' })),
  })
  const bus = (options.supervisorFactory ?? createSupervisor)({
    urls: options.urls,
    connectionName: `am-demo-spy@${hostname()}:${process.pid}`,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    topology,
    logger: options.logger ?? null,
  })
  try {
    await firstConnection(bus)
    const length = options.summaryLength ?? 72
    for (const exchange of SPIED) {
      await bus.consume(exchange, (delivery) => options.onMessage(describe(delivery, exchange, length)), {
        noAck: true,
      })
    }
  } catch (error) {
    await bus.destroy()
    throw error
  }
  const close = (): Promise<void> => bus.close()
  return { close, [Symbol.asyncDispose]: close }
}

/** Resolves once connected; rejects at the first failed attempt instead of retrying forever. */
function firstConnection(bus: SupervisorLike): Promise<void> {
  return new Promise((resolve, reject) => {
    const onReconnecting = ({ error }: { error: Error | undefined }): void => {
      reject(error ?? new Error('the connection failed'))
    }
    bus.once('reconnecting', onReconnecting)
    bus.ready().then(
      () => {
        bus.off('reconnecting', onReconnecting)
        resolve()
      },
      (error: Error) => {
        bus.off('reconnecting', onReconnecting)
        reject(error)
      },
    )
  })
}

function describe(delivery: Delivery, exchange: (typeof SPIED)[number], length: number): SpiedMessage {
  return { ...classify(delivery, exchange, length), exchange, body: delivery.body }
}

function classify(
  delivery: Delivery,
  exchange: (typeof SPIED)[number],
  length: number,
): Omit<SpiedMessage, 'exchange' | 'body'> {
  const routingKey = delivery.routingKey
  if (exchange === EXCHANGES.logs) {
    // GELF: the level is the routing key's last part, the text is short_message.
    const status = routingKey.slice(routingKey.lastIndexOf('.') + 1)
    try {
      const record = JSON.parse(delivery.body.toString('utf8')) as Record<string, unknown>
      return {
        kind: 'log',
        routingKey,
        conversationId: typeof record._conversation_id === 'string' ? record._conversation_id : '',
        status,
        summary: cut(String(record.short_message ?? ''), length),
      }
    } catch {
      return { kind: 'malformed', routingKey, conversationId: '', status, summary: 'a log that is not JSON' }
    }
  }
  const envelope = openEnvelope(delivery, exchange)
  if (isRefusal(envelope)) {
    return {
      kind: 'malformed',
      routingKey,
      conversationId: envelope.conversationId,
      status: '',
      summary: cut(envelope.log, length),
    }
  }
  return {
    kind: envelope.kind,
    routingKey,
    conversationId: envelope.conversationId,
    status: envelope.status,
    summary: cut(toJson(envelope.payload), length),
  }
}

function toJson(value: unknown): string {
  if (value === undefined) return 'undefined'
  // CBOR may carry big integers, which JSON.stringify refuses.
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
}

function cut(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text
}
