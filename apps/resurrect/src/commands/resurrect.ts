import { createHash } from 'node:crypto'
import {
  type FetchedMessage,
  type MessageProperties,
  PublishError,
  type PublishOptions,
  type QueueBrowser,
  type Supervisor,
} from '@am/bus-core'
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
import { headerText, matchesTopic, readDeaths } from '@am/protocol'
import { createManagementApi, type ManagementApi, ManagementError } from '../management.js'

/** Options as cac hands them. */
export interface ResurrectOptions {
  count?: unknown
  batchSize?: unknown
  filter?: unknown
  dryRun?: unknown
  rebroadcast?: unknown
  toQueue?: unknown
  managementUrl?: unknown
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
   * Events (and messages of exchanges other than `commands`) go back through their exchange with
   * their routing key: every queue bound for it gets a copy, whoever consumes it.
   */
  rebroadcast: boolean
  /** Every message goes straight into the queue it died in (default exchange), whoever consumes it. */
  toQueue: boolean
  /** The management API; `undefined`: the AMQP host on port 15672 with the AMQP credentials. */
  managementUrl: string | undefined
  ndjson: boolean
  connectTimeoutMs: number
}

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

/** Counts of a run; `stoppedBy` says why it ended. */
export interface ResurrectSummary {
  replayed: number
  skipped: number
  failed: number
  /** Events left in the DLQ because their consumers are not (known to be) AM Bus services. */
  left: number
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
      'missing <dlq>: am-resurrect [url] <dlq> (--filter takes every word after it: put the queue first)',
    )
  }
  if (extra.length > 0) throw new CliError('CLI_USAGE', `unexpected argument ${JSON.stringify(extra[0])}`)
  const filters = listOption(options.filter)
  const rebroadcast = options.rebroadcast === true || options.rebroadcast === 'true'
  const toQueue = options.toQueue === true || options.toQueue === 'true'
  if (rebroadcast && toQueue) {
    throw new CliError('CLI_USAGE', '--rebroadcast and --to-queue exclude each other: choose one route for events')
  }
  const managementUrl = options.managementUrl
  if (managementUrl !== undefined && (typeof managementUrl !== 'string' || managementUrl === '')) {
    throw new CliError('CLI_USAGE', '--management-url needs a URL: --management-url http://user:pass@host:15672')
  }
  return {
    url,
    dlq,
    count: parseNumberOption('count', options.count) ?? 0,
    batchSize: parseNumberOption('batch-size', options.batchSize, { min: 1 }) ?? DEFAULT_BATCH_SIZE,
    filters: filters.length > 0 ? filters : ['#'],
    dryRun: options.dryRun === true || options.dryRun === 'true',
    rebroadcast,
    toQueue,
    managementUrl,
    ...parseCommonOptions(options),
  }
}

/**
 * Replays dead letters where their consumers will understand them. Commands and results go back
 * to the exchange they were published to with their original routing key (a command key belongs
 * to one logical service; a result key to its requester). An event goes straight into the queue
 * it died in when only AM Bus services consume that queue (they take the kind from the queue);
 * otherwise it is left in the DLQ with the queues a copy through `events` would reach, unless
 * `--rebroadcast` or `--to-queue` says which. Copies are `mandatory` with publisher confirms; the
 * dead letter is acked only once its copy is confirmed. Messages not replayed stay in the DLQ at
 * their place.
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
  const management = createManagementApi(settings.url, settings.managementUrl, settings.connectTimeoutMs)
  const bus = await connectBus(ctx, settings.url, { tool: 'resurrect', connectTimeoutMs: settings.connectTimeoutMs })
  try {
    return await replay(ctx, bus, management, settings)
  } finally {
    await bus.close()
  }
}

interface Entry {
  message: FetchedMessage
  report: ReplayReport
  publish?: Promise<void>
}

async function replay(
  ctx: CliContext,
  bus: Supervisor,
  management: ManagementApi,
  settings: ResurrectSettings,
): Promise<ResurrectResult> {
  const { dlq } = settings
  const ready = await countReadyMessages(bus, dlq)
  const limit = settings.count > 0 ? settings.count : ready
  const summary: ResurrectSummary = {
    replayed: 0,
    skipped: 0,
    failed: 0,
    left: 0,
    wouldReplay: 0,
    stoppedBy: 'count',
  }
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
  const flush = async (browser: QueueBrowser): Promise<void> => {
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
          entry.report.reason = describeFailure(error, entry.report.to)
          if (isAmError(error, 'PUBLISH_CHANNEL_CLOSED')) lost ??= error as Error
          emit(entry.report)
          continue
        }
        try {
          browser.ack(entry.message)
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
      await bus.browse(dlq, async (browser) => {
        let processed = 0
        for (;;) {
          if (ctx.signal.aborted) {
            summary.stoppedBy = 'signal'
            break
          }
          if (processed >= limit || lost) break
          let message: FetchedMessage | undefined
          try {
            message = await browser.get()
          } catch (error) {
            lost = error as Error
            break
          }
          if (message === undefined) {
            summary.stoppedBy = 'empty'
            break
          }
          processed += 1
          progress.update(processed)
          const entry = await plan(message, settings, queueExists, management)
          const print = fingerprint(message, entry.report.queue)
          if (seen.has(print)) {
            entry.report.action = 'skipped'
            entry.report.reason = 'same as a message already replayed in this run: it died again (or is a duplicate)'
            window.push(entry)
            summary.stoppedBy = 'seen'
            break
          }
          seen.add(print)
          if (entry.report.action === 'replayed' && entry.report.to) {
            const { exchange, routingKey } = entry.report.to
            entry.publish = bus.publish(exchange, routingKey, message.content, replayOptions(message))
            // Settled in flush(); until then a rejection must not count as unhandled.
            void entry.publish.catch(() => undefined)
          }
          window.push(entry)
          if (window.length >= settings.batchSize) await flush(browser)
        }
        await flush(browser)
        // Closing the browser's channel (browse does) puts every message not acked back at its place.
      })
    } finally {
      progress.end()
    }
  }

  const counts = `${summary.replayed} replayed, ${summary.skipped} skipped, ${summary.left} left, ${summary.failed} failed${settings.dryRun ? `, ${summary.wouldReplay} would be replayed (dry run: nothing changed)` : ''}`
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
  if (summary.left > 0) {
    ctx.logger.info(
      `${summary.left} left in ${dlq}: replay them with --rebroadcast (through their exchange, every bound queue gets a copy) or --to-queue (straight into the queue they died in).`,
    )
  }
  return { summary }
}

/** Decides what to do with a dead letter (`replayed` stands for "to replay"). */
async function plan(
  message: FetchedMessage,
  settings: ResurrectSettings,
  queueExists: (name: string) => Promise<boolean>,
  management: ManagementApi,
): Promise<Entry> {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>
  const death = deathOf(headers, message.fields.routingKey)
  const routingKey = death.routingKey ?? message.fields.routingKey
  const exchange = death.exchange ?? null
  const conversation = headers.conversation_id
  const replyTo = text(message.properties.replyTo)
  const kind: MessageKind | null =
    exchange === null
      ? null
      : exchange === 'commands'
        ? replyTo
          ? 'command'
          : 'result'
        : exchange === 'events'
          ? 'event'
          : 'other'
  const report: ReplayReport = {
    action: 'replayed',
    kind,
    routingKey,
    exchange,
    queue: death.queue ?? null,
    ...(death.repaired ? { repaired: true as const } : {}),
    conversationId: headerText(conversation) ?? null,
  }
  const done = (action: ReplayAction, extra: Partial<ReplayReport>): Entry => ({
    message,
    report: { ...report, ...extra, action },
  })
  const skip = (reason: string): Entry => done('skipped', { reason })
  if (death.queue === undefined || exchange === null) {
    return skip('no death information (x-death, x-first-death-queue): it did not die in a queue')
  }
  const queue = death.queue
  if (queue === settings.dlq) return skip(`it died in ${settings.dlq} itself: replaying it there would loop`)
  const keys = new Set([message.fields.routingKey, routingKey])
  if (!settings.filters.some((pattern) => [...keys].some((key) => matchesTopic(pattern, key)))) {
    return skip('not selected by --filter')
  }

  const go = async (to: ReplayRoute, why: string): Promise<Entry> => {
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

function describeFailure(error: unknown, to: ReplayRoute | undefined): string {
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

function describeReport(report: ReplayReport, dlq: string): string {
  const what = `${report.kind ? `${report.kind} ` : ''}${report.routingKey}${report.conversationId ? ` (conversation ${report.conversationId})` : ''}`
  const to = report.to
  const where = !to
    ? ''
    : to.exchange === ''
      ? `queue ${to.routingKey}`
      : `exchange ${JSON.stringify(to.exchange)} with routing key ${to.routingKey}`
  const repaired = report.repaired ? ' (repaired: it had been replayed straight into its queue before)' : ''
  switch (report.action) {
    case 'replayed':
      return `Replayed ${what} to ${where}${repaired}: ${report.why}`
    case 'would-replay':
      return `Would replay ${what} to ${where}${repaired}: ${report.why}`
    case 'skipped':
      return `Skipped ${what}: ${report.reason}; left in ${dlq}`
    case 'left':
      return `Left ${what} in ${dlq}: ${report.reason}`
    case 'failed':
      return `Failed ${what}${to ? ` to ${where}` : ''}: ${report.reason}; left in ${dlq}`
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

/** A header value as text; `undefined` when empty or not text. */
function text(value: unknown): string | undefined {
  return headerText(value) || undefined
}
