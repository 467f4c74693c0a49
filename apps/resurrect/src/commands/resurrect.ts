import { createHash } from 'node:crypto'
import { PublishError, type PublishOptions, type Supervisor } from '@am/bus-core'
import {
  type CliContext,
  CliError,
  connectBus,
  countReadyMessages,
  createProgress,
  listOption,
  ndjsonContext,
  parseCommonOptions,
  parseNumberOption,
  readableHeaders,
  splitUrl,
  toJsonSafe,
  writeNdjson,
} from '@am/cli-kit'
import { isAmError } from '@am/errors'
import { matchesTopic } from '@am/service'
import type { Channel, GetMessage, MessageProperties } from 'amqplib'

/** Options as cac hands them. */
export interface ResurrectOptions {
  count?: unknown
  batchSize?: unknown
  filter?: unknown
  dryRun?: unknown
  rebroadcast?: unknown
  ndjson?: boolean
  connectTimeout?: unknown
}

/** What `resurrect` does, checked. */
export interface ResurrectSettings {
  url: string
  /** The dead-letter queue to replay from. */
  dlq: string
  /** Messages to look at; 0 = the number ready in the DLQ when the tool starts. */
  count: number
  /** Replays awaiting their broker confirm at once. */
  batchSize: number
  /** Topic patterns on the original routing key; `['#']` = every message. */
  filters: string[]
  dryRun: boolean
  /**
   * Republish to the exchange and routing key the message died with instead of the queue it died
   * in: every queue bound to them gets a copy again (eventail's way), but consumers that dispatch
   * on the routing key see the original one.
   */
  rebroadcast: boolean
  ndjson: boolean
  connectTimeoutMs: number
}

/** What happened to one dead letter. */
export type ReplayAction = 'replayed' | 'skipped' | 'failed' | 'would-replay'

/** One line of the report (and one NDJSON object). */
export interface ReplayReport {
  action: ReplayAction
  /** The routing key the message was published with (from `x-death`), else the one it has in the DLQ. */
  routingKey: string
  /** The queue it died in, where it is (or would be) replayed; null when unknown. */
  queue: string | null
  /** With `--rebroadcast`: the exchange it is republished to (with `routingKey`). */
  exchange?: string
  conversationId: string | null
  /** Why it was skipped or failed. */
  reason?: string
}

/** Counts of a run; `stoppedBy` says why it ended. */
export interface ResurrectSummary {
  replayed: number
  skipped: number
  failed: number
  /** With `--dry-run`: messages that would be replayed. */
  wouldReplay: number
  /**
   * `count`: the messages present at start (or `--count`) were processed; `empty`: the DLQ had no
   * more; `seen`: a message came back already replayed in this run (it died again); `signal`:
   * Ctrl-C/SIGTERM.
   */
  stoppedBy: 'count' | 'empty' | 'seen' | 'signal'
}

/** How a run went. */
export interface ResurrectResult {
  summary: ResurrectSummary
}

const DEFAULT_BATCH_SIZE = 10

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

/** Checks the arguments: `[url] <dlq>`, `--count`, `--batch-size`, `--filter`. */
export function resolveSettings(
  args: readonly string[],
  options: ResurrectOptions,
  env: NodeJS.ProcessEnv,
): ResurrectSettings {
  const { url, rest } = splitUrl(args, env)
  const [dlq, ...extra] = rest
  if (dlq === undefined) {
    throw new CliError(
      'CLI_USAGE',
      'missing <dlq>: am-resurrect [amqp_url] <dlq> (--filter takes every word after it: put the queue first)',
    )
  }
  if (extra.length > 0) throw new CliError('CLI_USAGE', `unexpected argument ${JSON.stringify(extra[0])}`)
  const filters = listOption(options.filter)
  return {
    url,
    dlq,
    count: parseNumberOption('count', options.count) ?? 0,
    batchSize: parseNumberOption('batch-size', options.batchSize, { min: 1 }) ?? DEFAULT_BATCH_SIZE,
    filters: filters.length > 0 ? filters : ['#'],
    dryRun: options.dryRun === true || options.dryRun === 'true',
    rebroadcast: options.rebroadcast === true || options.rebroadcast === 'true',
    ...parseCommonOptions(options),
  }
}

/**
 * Replays dead letters to the queue each one died in: republished through the default exchange
 * with the dead queue's name as routing key (not re-broadcast on the original exchange), with its
 * original properties and headers (death headers kept, as eventail does), `mandatory` and with publisher
 * confirms; the dead letter is acked only once its copy is confirmed. Messages not replayed
 * (filtered out, without death information, unroutable, refused) stay in the DLQ at their place.
 */
export async function resurrect(
  ctx: CliContext,
  args: readonly string[],
  options: ResurrectOptions,
): Promise<ResurrectResult> {
  const settings = resolveSettings(args, options, ctx.env)
  return runResurrect(settings.ndjson ? ndjsonContext(ctx) : ctx, settings)
}

/** `resurrect` with checked settings. */
export async function runResurrect(ctx: CliContext, settings: ResurrectSettings): Promise<ResurrectResult> {
  const bus = await connectBus(ctx, settings.url, { tool: 'resurrect', connectTimeoutMs: settings.connectTimeoutMs })
  try {
    return await replay(ctx, bus, settings)
  } finally {
    await bus.close()
  }
}

interface Entry {
  message: GetMessage
  report: ReplayReport
  publish?: Promise<void>
}

async function replay(ctx: CliContext, bus: Supervisor, settings: ResurrectSettings): Promise<ResurrectResult> {
  const { dlq } = settings
  const ready = await countReadyMessages(bus, dlq)
  const limit = settings.count > 0 ? settings.count : ready
  const summary: ResurrectSummary = { replayed: 0, skipped: 0, failed: 0, wouldReplay: 0, stoppedBy: 'count' }
  const emit = (report: ReplayReport): void => {
    if (report.action === 'would-replay') summary.wouldReplay += 1
    else summary[report.action] += 1
    if (settings.ndjson) writeNdjson(ctx, report)
    else ctx.logger.log(describeReport(report, dlq))
  }
  const queueExists = existenceCache(bus)
  const progress = createProgress(ctx, `resurrecting ${dlq}`, limit)
  const seen = new Set<string>()
  let window: Entry[] = []
  let lost: Error | undefined

  // Reports come out in DLQ order; replays are confirmed a window at a time.
  const flush = async (channel: Channel): Promise<void> => {
    const entries = window
    window = []
    await Promise.allSettled(entries.flatMap((entry) => (entry.publish ? [entry.publish] : [])))
    for (const entry of entries) {
      if (entry.publish) {
        try {
          await entry.publish
        } catch (error) {
          // Not acked: the dead letter goes back to its place when the channel closes.
          entry.report.action = 'failed'
          entry.report.reason = describeFailure(error, settings.rebroadcast ? '' : (entry.report.queue ?? ''))
          if (isAmError(error, 'PUBLISH_CHANNEL_CLOSED')) lost ??= error as Error
          emit(entry.report)
          continue
        }
        try {
          channel.ack(entry.message)
        } catch (error) {
          entry.report.action = 'failed'
          entry.report.reason = `replayed, but the connection was lost before the dead letter was acked: it is back in the DLQ too (${(error as Error).message})`
          lost ??= error as Error
        }
      }
      emit(entry.report)
    }
  }

  if (limit === 0) {
    ctx.logger.info(`Queue ${dlq} is empty: nothing to resurrect.`)
  } else {
    try {
      await bus.withChannel(async (channel) => {
        let processed = 0
        for (;;) {
          if (ctx.signal.aborted) {
            summary.stoppedBy = 'signal'
            break
          }
          if (processed >= limit || lost) break
          let message: GetMessage | false
          try {
            message = await channel.get(dlq, { noAck: false })
          } catch (error) {
            lost = error as Error
            break
          }
          if (message === false) {
            summary.stoppedBy = 'empty'
            break
          }
          processed += 1
          progress.update(processed)
          const entry = await plan(message, settings, queueExists)
          const print = fingerprint(message, entry.report.queue)
          if (seen.has(print)) {
            entry.report.action = 'skipped'
            entry.report.reason = 'same as a message already replayed in this run: it died again (or is a duplicate)'
            window.push(entry)
            summary.stoppedBy = 'seen'
            break
          }
          seen.add(print)
          if (entry.report.action === 'replayed') {
            const { exchange = '', routingKey } = entry.report
            const key = settings.rebroadcast ? routingKey : (entry.report.queue ?? '')
            entry.publish = bus.publish(exchange, key, message.content, replayOptions(message))
            // Settled in flush(); until then a rejection must not count as unhandled.
            void entry.publish.catch(() => undefined)
          }
          window.push(entry)
          if (window.length >= settings.batchSize) await flush(channel)
        }
        await flush(channel)
        // Closing the channel (withChannel does) puts every message not acked back at its place.
      })
    } finally {
      progress.end()
    }
  }

  const counts = `${summary.replayed} replayed, ${summary.skipped} skipped, ${summary.failed} failed${settings.dryRun ? `, ${summary.wouldReplay} would be replayed (dry run: nothing changed)` : ''}`
  if (settings.ndjson) writeNdjson(ctx, { summary })
  if (lost) {
    throw new CliError(
      'CLI_FAILED',
      `the connection was lost during the replay (${counts}): ${lost.message}; the dead letters not acked are back in ${dlq}`,
      { cause: lost },
    )
  }
  const how = {
    count: 'Done',
    empty: 'Done (queue empty)',
    seen: 'Stopped at a message replayed earlier in this run',
    signal: 'Interrupted',
  }[summary.stoppedBy]
  ctx.logger.info(`${how}: ${counts}.`)
  return { summary }
}

/** Decides what to do with a dead letter (`replayed` stands for "to replay"). */
async function plan(
  message: GetMessage,
  settings: ResurrectSettings,
  queueExists: (name: string) => Promise<boolean>,
): Promise<Entry> {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>
  const death = deathOf(headers)
  const routingKey = death.routingKeys[0] ?? message.fields.routingKey
  const conversation = headers.conversation_id
  const report: ReplayReport = {
    action: 'replayed',
    routingKey,
    queue: death.queue ?? null,
    ...(settings.rebroadcast ? { exchange: death.exchange ?? message.fields.exchange } : {}),
    conversationId:
      typeof conversation === 'string' ? conversation : Buffer.isBuffer(conversation) ? conversation.toString() : null,
  }
  const skip = (reason: string): Entry => ({ message, report: { ...report, action: 'skipped', reason } })
  if (death.queue === undefined)
    return skip('no death information (x-death, x-first-death-queue): it did not die in a queue')
  if (death.queue === settings.dlq) return skip(`it died in ${settings.dlq} itself: replaying it there would loop`)
  const keys = new Set([message.fields.routingKey, ...death.routingKeys])
  if (!settings.filters.some((pattern) => [...keys].some((key) => matchesTopic(pattern, key)))) {
    return skip('not selected by --filter')
  }
  if (settings.dryRun) {
    if (!(await queueExists(death.queue))) {
      return {
        message,
        report: { ...report, action: 'failed', reason: `queue ${death.queue} does not exist any more` },
      }
    }
    return { message, report: { ...report, action: 'would-replay' } }
  }
  return { message, report }
}

/**
 * Where a dead letter died: the most recent death (`x-last-death-queue`, RabbitMQ 3.13+; else the
 * first `x-death` entry, which the broker keeps most recent first), else `x-first-death-queue`.
 * The routing keys are those it was published with.
 */
export function deathOf(headers: Record<string, unknown>): {
  queue?: string
  exchange?: string
  routingKeys: string[]
} {
  const entries = headers['x-death']
  const latest = Array.isArray(entries) && isRecord(entries[0]) ? entries[0] : undefined
  const queue = text(headers['x-last-death-queue']) ?? text(latest?.queue) ?? text(headers['x-first-death-queue'])
  const keys = Array.isArray(latest?.['routing-keys']) ? (latest['routing-keys'] as unknown[]) : []
  const exchange = typeof latest?.exchange === 'string' ? latest.exchange : text(headers['x-first-death-exchange'])
  return {
    ...(queue ? { queue } : {}),
    ...(exchange !== undefined ? { exchange } : {}),
    routingKeys: keys.map(text).filter((key): key is string => key !== undefined),
  }
}

/** The properties of the replayed copy: the original ones and headers (death headers included, not x-delivery-count). */
export function replayOptions(message: GetMessage): PublishOptions {
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
export function fingerprint(message: GetMessage, queue: string | null): string {
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

function existenceCache(bus: Supervisor): (name: string) => Promise<boolean> {
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

function describeFailure(error: unknown, queue: string): string {
  if (error instanceof PublishError) {
    switch (error.code) {
      case 'PUBLISH_RETURNED':
        return queue ? `unroutable: queue ${queue} does not exist any more` : 'unroutable: no queue is bound for it'
      case 'PUBLISH_NACKED':
        return `the broker refused the copy (nack): is ${queue} full with reject-publish?`
      case 'PUBLISH_CHANNEL_CLOSED':
        return 'the connection was lost before the broker confirmed the copy: it may or may not have arrived'
      default:
        return error.message
    }
  }
  return (error as Error).message
}

function describeReport(report: ReplayReport, dlq: string): string {
  const what = `${report.routingKey}${report.conversationId ? ` (conversation ${report.conversationId})` : ''}`
  const where =
    report.exchange === undefined
      ? `queue ${report.queue}`
      : `exchange ${JSON.stringify(report.exchange)} (died in queue ${report.queue})`
  switch (report.action) {
    case 'replayed':
      return `Replayed ${what} to ${where}`
    case 'would-replay':
      return `Would replay ${what} to ${where}`
    case 'skipped':
      return `Skipped ${what}: ${report.reason}; left in ${dlq}`
    case 'failed':
      return `Failed ${what}${report.queue ? ` to queue ${report.queue}` : ''}: ${report.reason}; left in ${dlq}`
  }
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

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value
  if (Buffer.isBuffer(value) && value.length > 0) return value.toString('utf8')
  return undefined
}
