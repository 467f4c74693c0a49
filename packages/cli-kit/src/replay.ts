import { createHash } from 'node:crypto'
import {
  type FetchedMessage,
  type MessageProperties,
  PublishError,
  type PublishOptions,
  type Supervisor,
} from '@am/bus-core'
import { isAmError } from '@am/errors'
import { headerText, matchesTopic, readDeaths } from '@am/protocol'
import { readableHeaders } from './headers.js'
import { type ManagementApi, ManagementError } from './management.js'
import { toJsonSafe } from './ndjson.js'

// The routing decision of am-resurrect, per dead letter: shared by am-resurrect (which replays a
// DLQ in order) and am-console (which shows it per message before an operator confirms).

/**
 * What happened to one dead letter: `left` means the tool would not guess where an event goes
 * (it stays in the DLQ, the run exits 1).
 */
export type ReplayAction = 'replayed' | 'skipped' | 'failed' | 'left' | 'would-replay'

/**
 * The kind of a dead letter, from the exchange it was first published to: `commands` (a command
 * has a `reply_to`, a result has not), `events`, or any other exchange (`other`).
 */
export type MessageKind = 'command' | 'result' | 'event' | 'other'

/** Where a copy is published: `exchange: ''` and the queue's name go straight into that queue. */
export interface ReplayRoute {
  exchange: string
  routingKey: string
}

/** One line of the report (and one NDJSON object). */
export interface ReplayReport {
  action: ReplayAction
  /** Null without death information. */
  kind: MessageKind | null
  /** The routing key the message was first published with (oldest `x-death` entry), else the one it has in the DLQ. */
  routingKey: string
  /** The exchange it was first published to (oldest `x-death` entry); null when unknown. */
  exchange: string | null
  /** The queue it died in (most recent death); null when unknown. */
  queue: string | null
  /** Where its copy is (or would be) published, and why there. */
  to?: ReplayRoute
  why?: string
  /** Set when it had been replayed straight into its queue before: its original route was restored. */
  repaired?: true
  /** For an event left in the DLQ: the queues a copy through its exchange would reach. */
  wouldReach?: string[]
  conversationId: string | null
  /** Why it was skipped, left or failed. */
  reason?: string
}

/** The choices that decide where dead letters are replayed (`am-resurrect`'s options). */
export interface ReplayRules {
  /** The dead-letter queue they are taken from. */
  dlq: string
  /** Topic patterns on the original routing key; `['#']` = every message. */
  filters: readonly string[]
  /** Say where each would go, publish nothing (`would-replay`; a missing target queue: `failed`). */
  dryRun: boolean
  /** Events go back through their exchange with their routing key. */
  rebroadcast: boolean
  /** Every message goes straight into the queue it died in. */
  toQueue: boolean
}

// Headers the broker adds when it dead-letters a message; the replayed copy starts afresh.
const DEATH_HEADERS = new Set([
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
])

// Properties copied to the replayed message. `userId` is left out: the broker refuses a user_id
// that is not the publishing user's (406), and the tool rarely runs as the original publisher.
const KEPT_PROPERTIES = [
  'contentType',
  'contentEncoding',
  'deliveryMode',
  'priority',
  'correlationId',
  'replyTo',
  'expiration',
  'messageId',
  'timestamp',
  'type',
  'appId',
] as const

/**
 * Decides what to do with a dead letter (`replayed` stands for "to replay", with `to` and `why`):
 * commands and results back through their exchange, an event straight into its queue when only AM
 * Bus services consume it (asked to `management`), else `left` with the queues it would reach.
 */
export async function planReplay(
  message: FetchedMessage,
  settings: ReplayRules,
  queueExists: (name: string) => Promise<boolean>,
  management: ManagementApi,
): Promise<ReplayReport> {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>
  const death = deathOf(headers, message.fields.routingKey)
  const routingKey = death.routingKey ?? message.fields.routingKey
  const exchange = death.exchange ?? null
  const conversation = headers.conversation_id
  const replyTo = text(message.properties.replyTo)
  const kind = deadLetterKind(exchange, replyTo)
  const report: ReplayReport = {
    action: 'replayed',
    kind,
    routingKey,
    exchange,
    queue: death.queue ?? null,
    ...(death.repaired ? { repaired: true as const } : {}),
    conversationId: headerText(conversation) ?? null,
  }
  const done = (action: ReplayAction, extra: Partial<ReplayReport>): ReplayReport => ({ ...report, ...extra, action })
  const skip = (reason: string): ReplayReport => done('skipped', { reason })
  if (death.queue === undefined || exchange === null) {
    return skip('no death information (x-death, x-first-death-queue): it did not die in a queue')
  }
  const queue = death.queue
  if (queue === settings.dlq) return skip(`it died in ${settings.dlq} itself: replaying it there would loop`)
  const keys = new Set([message.fields.routingKey, routingKey])
  if (!settings.filters.some((pattern) => [...keys].some((key) => matchesTopic(pattern, key)))) {
    return skip('not selected by --filter')
  }

  const go = async (to: ReplayRoute, why: string): Promise<ReplayReport> => {
    if (!settings.dryRun) return done('replayed', { to, why })
    if (to.exchange === '' && !(await queueExists(to.routingKey))) {
      return done('failed', { to, why, reason: `queue ${to.routingKey} does not exist any more` })
    }
    return done('would-replay', { to, why })
  }
  const intoQueue = { exchange: '', routingKey: queue }
  const throughExchange = { exchange, routingKey }
  if (settings.toQueue) return go(intoQueue, `--to-queue: straight into ${queue}, whoever consumes it`)
  if (kind === 'command' || kind === 'result') {
    return go(
      throughExchange,
      kind === 'command'
        ? `a command goes back to "${exchange}" with its routing key, which belongs to one logical service`
        : `a result goes back to "${exchange}" with its routing key, its requester's reply-to`,
    )
  }
  if (exchange === '') return go(throughExchange, 'it was published straight into a queue (default exchange)')
  if (settings.rebroadcast) {
    return go(throughExchange, `--rebroadcast: every queue bound to "${exchange}" for ${routingKey} gets a copy`)
  }

  // An event: straight into its queue only when that cannot mislead its consumers.
  const other = `replay with --rebroadcast (every queue bound for it gets a copy) or --to-queue (straight into ${queue})`
  let consumers: Awaited<ReturnType<ManagementApi['consumersOf']>>
  try {
    consumers = await management.consumersOf(queue)
  } catch (error) {
    if (!(error instanceof ManagementError)) throw error
    return done('left', {
      reason: `cannot tell who consumes ${queue}: ${error.message}; give --management-url http://user:pass@host:15672, or ${other}`,
    })
  }
  if (consumers.onlyAmBus) {
    const n = consumers.products.length
    return go(
      intoQueue,
      `${queue} is consumed by AM Bus services only (${n} consumer${n === 1 ? '' : 's'}), which take the kind from the queue`,
    )
  }
  let wouldReach: string[] | undefined
  try {
    wouldReach = await management.destinationsOf(exchange, routingKey)
  } catch (error) {
    if (!(error instanceof ManagementError)) throw error
  }
  const who =
    consumers.unknown > 0
      ? `the management API does not know yet the connection of ${consumers.unknown} consumer${consumers.unknown === 1 ? '' : 's'} of ${queue} (its statistics lag a few seconds behind): retry in a moment`
      : consumers.products.length === 0
        ? `${queue} has no consumer: cannot tell whether its service takes the kind from the queue (AM Bus) or from the delivery exchange (eventail, which would take a copy straight into the queue for a configuration)`
        : `${queue} is consumed by services other than AM Bus (${[...new Set(consumers.products.map((p) => p ?? 'no product property'))].join(', ')}), which take the kind from the delivery exchange: a copy straight into the queue would reach their configuration handler`
  const reach =
    wouldReach === undefined
      ? ''
      : wouldReach.length === 0
        ? `; through "${exchange}" it would reach no queue`
        : `; through "${exchange}" it would reach ${wouldReach.join(', ')}`
  return done('left', { ...(wouldReach ? { wouldReach } : {}), reason: `${who}${reach}: ${other}` })
}

/**
 * The kind of a dead letter from the exchange it was first published to (`null`: unknown) and its
 * `reply_to`: on `commands`, a command has one and a result has not.
 */
export function deadLetterKind(exchange: string | null, replyTo: string | undefined): MessageKind | null {
  if (exchange === null) return null
  if (exchange === 'commands') return replyTo ? 'command' : 'result'
  return exchange === 'events' ? 'event' : 'other'
}

/**
 * Where a dead letter died and how it was first published. `queue`: the most recent death
 * (`x-last-death-queue`, RabbitMQ 3.13+; else the first `x-death` entry, the broker keeps the
 * most recent first), else `x-first-death-queue`. `exchange` and `routingKey`: the OLDEST `x-death`
 * entry (the one of the first death), else `x-first-death-exchange` and the DLQ delivery's routing key: a copy
 * replayed straight into its queue and dead again has the queue's name as routing key, and the
 * default exchange in its newer entries. `repaired` says the original route differs from that.
 */
export function deathOf(
  headers: Record<string, unknown>,
  deliveredKey: string,
): {
  queue?: string
  exchange?: string
  routingKey?: string
  repaired: boolean
} {
  const entries = readDeaths(headers)
  const latest = entries[0]
  // The broker moves an entry to the front when the message dies again in the same queue for the
  // same reason, so the last entry is not always the first death: x-first-death-* (never updated)
  // tell which one is; else the last one not through the default exchange (a replay's).
  const firstExchange = text(headers['x-first-death-exchange']) ?? ''
  const firstQueue = text(headers['x-first-death-queue'])
  const oldest =
    entries.find((entry) => entry.exchange === firstExchange && text(entry.queue) === firstQueue) ??
    entries.findLast((entry) => entry.exchange !== '') ??
    entries.at(-1)
  const queue = text(headers['x-last-death-queue']) ?? text(latest?.queue) ?? firstQueue
  const routingKey = oldest?.routingKeys.find((key) => key !== '')
  const exchange =
    oldest !== undefined ? oldest.exchange : headers['x-first-death-exchange'] === undefined ? undefined : firstExchange
  const viaQueue =
    entries.some((entry) => entry.exchange === '') ||
    (queue !== undefined && deliveredKey === queue && routingKey !== undefined && routingKey !== queue)
  return {
    ...(queue ? { queue } : {}),
    ...(exchange !== undefined ? { exchange } : {}),
    ...(routingKey !== undefined ? { routingKey } : {}),
    repaired: viaQueue && exchange !== undefined && exchange !== '',
  }
}

/** The properties of the replayed copy: the original ones and headers (death headers included, not x-delivery-count). */
export function replayOptions(message: FetchedMessage): PublishOptions {
  const properties = message.properties as MessageProperties & Record<string, unknown>
  // The death headers stay, as eventail's resurrect keeps them: they tell where the message died, and
  // a service receiving the copy from the default exchange finds its original routing key in x-death.
  const headers = { ...((properties.headers ?? {}) as Record<string, unknown>) }
  delete headers['x-delivery-count']
  const options: Record<string, unknown> = { mandatory: true, headers }
  for (const key of KEPT_PROPERTIES) if (properties[key] !== undefined) options[key] = properties[key]
  return options as PublishOptions
}

/**
 * Identifies a message across deaths: the queue it died in, body, identifying properties and
 * headers; not the death headers, nor the routing key (a copy replayed through the default
 * exchange dies again under the queue's name).
 */
export function fingerprint(message: FetchedMessage, queue: string | null): string {
  const p = message.properties
  const identity = [
    queue,
    p.contentType,
    p.correlationId,
    p.replyTo,
    p.messageId,
    p.timestamp,
    p.type,
    p.appId,
    sorted(toJsonSafe(readableHeaders(withoutDeathHeaders(p.headers)))),
  ]
  return createHash('sha256').update(JSON.stringify(identity)).update(message.content).digest('hex')
}

function withoutDeathHeaders(headers: unknown): Record<string, unknown> {
  const kept: Record<string, unknown> = {}
  for (const [key, value] of Object.entries((headers ?? {}) as Record<string, unknown>)) {
    if (!DEATH_HEADERS.has(key)) kept[key] = value
  }
  return kept
}

/** Whether a queue exists (`queue.declare passive`), asked once per name. */
export function queueExistence(bus: Supervisor): (name: string) => Promise<boolean> {
  const known = new Map<string, Promise<boolean>>()
  return (name) => {
    let answer = known.get(name)
    if (!answer) {
      answer = bus.checkQueue(name).then(
        () => true,
        (error: unknown) => {
          if (isAmError(error, 'TOPOLOGY_NOT_FOUND')) return false
          throw error
        },
      )
      known.set(name, answer)
    }
    return answer
  }
}

/** Why a replayed copy failed, in words (returned, nacked, connection lost). */
export function describeReplayFailure(error: unknown, to: ReplayRoute | undefined): string {
  const into = to && to.exchange === '' ? to.routingKey : undefined
  if (error instanceof PublishError) {
    switch (error.code) {
      case 'PUBLISH_RETURNED':
        return into
          ? `unroutable: queue ${into} does not exist any more`
          : `unroutable: no queue is bound to exchange "${to?.exchange}" for ${to?.routingKey}`
      case 'PUBLISH_NACKED':
        return into
          ? `the broker refused the copy (nack): is ${into} full with reject-publish?`
          : `the broker refused the copy (nack): is a queue bound for ${to?.routingKey} full with reject-publish?`
      case 'PUBLISH_CHANNEL_CLOSED':
        return 'the connection was lost before the broker confirmed the copy: it may or may not have arrived'
      default:
        return error.message
    }
  }
  return (error as Error).message
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted)
  if (!isRecord(value)) return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted(value[key])]),
  )
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

/** A header value as text; `undefined` when empty or not text. */
function text(value: unknown): string | undefined {
  return headerText(value) || undefined
}
