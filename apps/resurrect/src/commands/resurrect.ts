import type { FetchedMessage, QueueBrowser, Supervisor } from '@am/bus-core'
import {
  type CliContext,
  CliError,
  connectBus,
  countReadyMessages,
  createManagementApi,
  createProgress,
  describeReplayFailure,
  fingerprint,
  listOption,
  type ManagementApi,
  ndjsonContext,
  parseCommonOptions,
  parseNumberOption,
  planReplay,
  queueExistence,
  type ReplayReport,
  replayOptions,
  splitUrl,
  writeNdjson,
} from '@am/cli-kit'
import { isAmError } from '@am/errors'

// The routing decision per dead letter lives in @am/cli-kit (shared with am-console).
export {
  deathOf,
  fingerprint,
  type MessageKind,
  type ReplayAction,
  type ReplayReport,
  type ReplayRoute,
  replayOptions,
} from '@am/cli-kit'

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
  const queueExists = queueExistence(bus)
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
          entry.report.reason = describeReplayFailure(error, entry.report.to)
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
          const entry: Entry = { message, report: await planReplay(message, settings, queueExists, management) }
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
