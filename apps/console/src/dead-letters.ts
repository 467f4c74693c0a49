import type { FetchedMessage, Supervisor } from '@am/bus-core'
import {
  countReadyMessages,
  deadLetterKind,
  deathOf,
  describeFetched,
  describeReplayFailure,
  fingerprint,
  type ManagementApi,
  type MessageKind,
  planReplay,
  queueExistence,
  type ReplayReport,
  type ReplayRoute,
  readableHeaders,
  replayOptions,
} from '@am/cli-kit'
import { headerText, matchesTopic, readDeaths } from '@am/protocol'
import { bytesView, toView } from './view.js'

/** One dead letter as a row of the table. */
export interface DeadLetterRow {
  /** Stable while the queue does not change: a digest of the message and its rank among identical ones. */
  id: string
  /** Position in the DLQ, from 1. */
  index: number
  /** When it last died (ISO), from `x-death`; null without. */
  diedAt: string | null
  /** The queue it died in (most recent death). */
  queue: string | null
  /** The routing key it was first published with (else the one it has in the DLQ). */
  routingKey: string
  exchange: string | null
  kind: MessageKind | null
  /** `rejected`, `expired`, `maxlen`, `delivery_limit` (most recent death). */
  reason: string | null
  /** Deaths counted over every `x-death` entry. */
  deaths: number
  conversationId: string | null
  /** Body size in bytes. */
  size: number
  contentType: string | null
}

/** What selects dead letters: ids from the table, or a filter (every condition given must hold). */
export interface DeadLetterFilter {
  /** Topic pattern on the routing key (`voxo.*`, `#`). */
  key?: string
  queue?: string
  reason?: string
  /** Died at or after / before, ms since the epoch. */
  since?: number
  until?: number
  ids?: readonly string[]
}

/** How events are routed on replay (am-resurrect's default, `--rebroadcast`, `--to-queue`). */
export type ReplayMode = 'default' | 'rebroadcast' | 'to-queue'

/** The listing of a DLQ. */
export interface DeadLetterList {
  dlq: string
  /** Ready messages when the listing started. */
  ready: number
  rows: DeadLetterRow[]
  /** True when the DLQ holds more than the console lists at once. */
  truncated: boolean
}

/** One dead letter opened. */
export interface DeadLetterDetail {
  row: DeadLetterRow
  exchangeInDlq: string
  routingKeyInDlq: string
  redelivered: boolean
  properties: unknown
  headers: unknown
  /** Every `x-death` entry, newest first. */
  history: Array<{
    queue: string
    reason: string
    count: number
    time: string | null
    exchange: string
    routingKeys: string[]
  }>
  /** The decoded payload (see `toView`); absent when the body does not decode. */
  payload?: unknown
  payloadError?: string
  /** The body's bytes (hex) when it does not decode, or is too large to decode here. */
  body?: { $bytes: string; length: number }
}

/** What happened to one dead letter of a replay (or would, in a plan), as am-resurrect reports it. */
export interface ReplayOutcome extends Omit<ReplayReport, 'action'> {
  id: string
  action: ReplayReport['action']
}

/** Limits of one pass over a DLQ. */
export interface DeadLetterLimits {
  /** Messages listed at most. @default 1000 */
  maxMessages: number
  /** Bodies larger than this are shown as bytes, not decoded. @default 4 MiB */
  maxDecodeBytes: number
}

export const DEFAULT_LIMITS: DeadLetterLimits = { maxMessages: 1000, maxDecodeBytes: 4 * 1024 * 1024 }

interface Loaded {
  message: FetchedMessage
  row: DeadLetterRow
}

/**
 * Takes the first messages of `dlq` (as many as were ready at start, at most `max`) with
 * `basic.get` on a channel of its own and runs `work` on them while they are out; closing the
 * channel afterwards puts every message not acked back at its place (am-inspect-queue's way).
 */
async function withDeadLetters<T>(
  bus: Supervisor,
  dlq: string,
  max: number,
  work: (loaded: Loaded[], ack: (message: FetchedMessage) => void, ready: number) => Promise<T>,
): Promise<T> {
  const ready = await countReadyMessages(bus, dlq)
  const limit = Math.min(ready, max)
  return bus.browse(dlq, async (browser) => {
    const messages: FetchedMessage[] = []
    while (messages.length < limit) {
      const message = await browser.get()
      if (message === undefined) break
      messages.push(message)
    }
    return work(rowsOf(messages), (message) => browser.ack(message), ready)
  })
}

function rowsOf(messages: FetchedMessage[]): Loaded[] {
  const seen = new Map<string, number>()
  return messages.map((message, i) => {
    const row = rowOf(message, i + 1)
    const rank = (seen.get(row.id) ?? 0) + 1
    seen.set(row.id, rank)
    row.id = `${row.id}-${rank}`
    return { message, row }
  })
}

/** The row of a dead letter (its `id` without the rank). */
export function rowOf(message: FetchedMessage, index: number): DeadLetterRow {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>
  const death = deathOf(headers, message.fields.routingKey)
  const entries = readDeaths(headers)
  const latest = entries[0]
  const queue = death.queue ?? null
  const exchange = death.exchange ?? null
  const replyTo = headerText(message.properties.replyTo) || undefined
  return {
    id: fingerprint(message, queue).slice(0, 20),
    index,
    diedAt: latest && Number.isFinite(latest.time) ? new Date(latest.time * 1000).toISOString() : null,
    queue,
    routingKey: death.routingKey ?? message.fields.routingKey,
    exchange,
    kind: deadLetterKind(exchange, replyTo),
    reason:
      headerText(headers['x-last-death-reason']) ||
      latest?.reason ||
      headerText(headers['x-first-death-reason']) ||
      null,
    deaths: entries.reduce((sum, entry) => sum + (Number.isFinite(entry.count) ? entry.count : 0), 0),
    conversationId: headerText(headers.conversation_id) || null,
    size: message.content.length,
    contentType: headerText(message.properties.contentType) || null,
  }
}

/** Whether a row passes a filter. */
export function matchesRow(row: DeadLetterRow, filter: DeadLetterFilter): boolean {
  if (filter.ids && !filter.ids.includes(row.id)) return false
  if (filter.key && !matchesTopic(filter.key, row.routingKey)) return false
  if (filter.queue && row.queue !== filter.queue) return false
  if (filter.reason && row.reason !== filter.reason) return false
  if (filter.since !== undefined || filter.until !== undefined) {
    if (row.diedAt === null) return false
    const at = Date.parse(row.diedAt)
    if (filter.since !== undefined && at < filter.since) return false
    if (filter.until !== undefined && at >= filter.until) return false
  }
  return true
}

/** The table of a DLQ; the queue keeps its messages and their order. */
export function listDeadLetters(
  bus: Supervisor,
  dlq: string,
  filter: DeadLetterFilter = {},
  limits: DeadLetterLimits = DEFAULT_LIMITS,
): Promise<DeadLetterList> {
  return withDeadLetters(bus, dlq, limits.maxMessages, async (loaded, _ack, ready) => ({
    dlq,
    ready,
    rows: loaded.filter(({ row }) => matchesRow(row, filter)).map(({ row }) => row),
    truncated: ready > limits.maxMessages,
  }))
}

/** One dead letter opened (undefined when the DLQ no longer holds it); the queue is left as it was. */
export function openDeadLetter(
  bus: Supervisor,
  dlq: string,
  id: string,
  limits: DeadLetterLimits = DEFAULT_LIMITS,
): Promise<DeadLetterDetail | undefined> {
  return withDeadLetters(bus, dlq, limits.maxMessages, async (loaded) => {
    const found = loaded.find(({ row }) => row.id === id)
    return found ? detailOf(found, limits) : undefined
  })
}

function detailOf({ message, row }: Loaded, limits: DeadLetterLimits): DeadLetterDetail {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>
  const detail: DeadLetterDetail = {
    row,
    exchangeInDlq: message.fields.exchange,
    routingKeyInDlq: message.fields.routingKey,
    redelivered: message.fields.redelivered,
    properties: {},
    headers: toView(readableHeaders(headers)),
    history: readDeaths(headers).map((death) => ({
      queue: death.queue,
      reason: death.reason,
      count: death.count,
      time: Number.isFinite(death.time) ? new Date(death.time * 1000).toISOString() : null,
      exchange: death.exchange,
      routingKeys: death.routingKeys,
    })),
  }
  if (message.content.length > limits.maxDecodeBytes) {
    const { headers: _headers, ...properties } = message.properties as Record<string, unknown>
    detail.properties = toView(properties)
    detail.payloadError = `too large to decode here (${message.content.length} bytes): the first bytes are shown`
    detail.body = bytesView(message.content, 64 * 1024)
    return detail
  }
  const described = describeFetched(row.index, message)
  detail.properties = toView(described.properties)
  if (described.payloadError !== undefined) {
    detail.payloadError = described.payloadError
    detail.body = bytesView(message.content, 64 * 1024)
  } else detail.payload = toView(described.payload, 64 * 1024)
  return detail
}

/**
 * The dead letters of `loaded` that `selection` keeps, each with the decision am-resurrect makes for
 * it in `mode` (`dryRun`: as `--dry-run` reports it).
 */
async function* decide(
  bus: Supervisor,
  management: ManagementApi,
  dlq: string,
  loaded: Loaded[],
  selection: DeadLetterFilter,
  mode: ReplayMode,
  dryRun: boolean,
): AsyncGenerator<Loaded & { report: ReplayReport }> {
  const rules = { dlq, filters: ['#'], dryRun, rebroadcast: mode === 'rebroadcast', toQueue: mode === 'to-queue' }
  const exists = queueExistence(bus)
  for (const { message, row } of loaded) {
    if (matchesRow(row, selection)) yield { message, row, report: await planReplay(message, rules, exists, management) }
  }
}

/**
 * Where each selected dead letter would go, decided as am-resurrect decides (`would-replay`, `left`,
 * `skipped`, or `failed` when its target queue is gone); nothing changes.
 */
export function planDeadLetters(
  bus: Supervisor,
  management: ManagementApi,
  dlq: string,
  selection: DeadLetterFilter,
  mode: ReplayMode,
  limits: DeadLetterLimits = DEFAULT_LIMITS,
): Promise<ReplayOutcome[]> {
  return withDeadLetters(bus, dlq, limits.maxMessages, async (loaded) => {
    const outcomes: ReplayOutcome[] = []
    for await (const { row, report } of decide(bus, management, dlq, loaded, selection, mode, true)) {
      outcomes.push({ id: row.id, ...report })
    }
    return outcomes
  })
}

/**
 * Replays the selected dead letters as am-resurrect does: the copy is published `mandatory` with a
 * publisher confirm where its routing decision says, and the dead letter is acked only once the
 * broker confirmed the copy. Messages not replayed stay at their place.
 */
export function replayDeadLetters(
  bus: Supervisor,
  management: ManagementApi,
  dlq: string,
  selection: DeadLetterFilter,
  mode: ReplayMode,
  limits: DeadLetterLimits = DEFAULT_LIMITS,
): Promise<ReplayOutcome[]> {
  return withDeadLetters(bus, dlq, limits.maxMessages, async (loaded, ack) => {
    const planned: Array<{ message: FetchedMessage; outcome: ReplayOutcome; publish?: Promise<void> }> = []
    for await (const { message, row, report } of decide(bus, management, dlq, loaded, selection, mode, false)) {
      const entry: (typeof planned)[number] = { message, outcome: { id: row.id, ...report } }
      if (report.action === 'replayed' && report.to) {
        entry.publish = bus.publish(report.to.exchange, report.to.routingKey, message.content, replayOptions(message))
        void entry.publish.catch(() => undefined)
      }
      planned.push(entry)
    }
    for (const entry of planned) {
      if (!entry.publish) continue
      try {
        await entry.publish
      } catch (error) {
        entry.outcome.action = 'failed'
        entry.outcome.reason = describeReplayFailure(error, entry.outcome.to as ReplayRoute | undefined)
        continue
      }
      try {
        ack(entry.message)
      } catch (error) {
        entry.outcome.action = 'failed'
        entry.outcome.reason = `replayed, but the dead letter could not be acked: it is back in the DLQ too (${(error as Error).message})`
      }
    }
    return planned.map((entry) => entry.outcome)
  })
}

/** What a delete did. */
export interface DeleteOutcome {
  /** Ids acked (removed), in DLQ order. */
  deleted: string[]
  /** Ids asked for that the DLQ no longer held. */
  missing: string[]
}

/**
 * Removes the selected dead letters (acks them); the broker has processed the acks when the
 * browsing channel's close is confirmed, which happens before this resolves.
 */
export function deleteDeadLetters(
  bus: Supervisor,
  dlq: string,
  ids: readonly string[],
  limits: DeadLetterLimits = DEFAULT_LIMITS,
): Promise<DeleteOutcome> {
  return withDeadLetters(bus, dlq, limits.maxMessages, async (loaded, ack) => {
    const deleted: string[] = []
    for (const { message, row } of loaded) {
      if (!ids.includes(row.id)) continue
      ack(message)
      deleted.push(row.id)
    }
    return { deleted, missing: ids.filter((id) => !deleted.includes(id)) }
  })
}
