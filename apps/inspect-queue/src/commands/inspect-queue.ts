import { inspect } from 'node:util'
import type { FetchedMessage, Supervisor } from '@am/bus-core'
import {
  type CliContext,
  CliError,
  checkSaveDirectory,
  connectBus,
  countReadyMessages,
  createProgress,
  describeFetched,
  extensionFor,
  type InspectedMessage,
  ndjsonContext,
  parseCommonOptions,
  parseNumberOption,
  safeNamePart,
  saveUnique,
  splitUrl,
  writeNdjson,
} from '@am/cli-kit'
import { readDeaths } from '@am/protocol'

/** Options as cac hands them. */
export interface InspectQueueOptions {
  count?: unknown
  save?: boolean
  dir?: unknown
  ndjson?: boolean
  connectTimeout?: unknown
}

/** What `inspectQueue` does, checked. */
export interface InspectQueueSettings {
  url: string
  queue: string
  /** Messages to show; 0 = as many as the queue holds ready when the tool starts. */
  count: number
  save: boolean
  dir: string
  ndjson: boolean
  connectTimeoutMs: number
}

/** How an inspection went. */
export interface InspectQueueResult {
  queue: string
  /** Ready messages in the queue when the tool started. */
  ready: number
  /** Messages shown (and put back). */
  shown: number
  /** Files written by `--save`. */
  saved: number
}

// The readable form of a fetched message lives in @am/cli-kit (shared with am-console).
export { describeFetched as describe, type InspectedMessage } from '@am/cli-kit'

// Bodies held in memory before they are printed, while the messages are out of the queue.
// Beyond it, messages are printed as they come (and stay out of the queue a little longer).
const BUFFER_BYTES = 64 * 1024 * 1024

/** Checks the arguments: `[url] <queue>`, `--count`, `--dir`. */
export function resolveSettings(
  args: readonly string[],
  options: InspectQueueOptions,
  env: NodeJS.ProcessEnv,
): InspectQueueSettings {
  const { url, rest } = splitUrl(args, env)
  const [queue, ...extra] = rest
  if (queue === undefined) throw new CliError('CLI_USAGE', 'missing <queue>: am-inspect-queue [url] <queue>')
  if (extra.length > 0) throw new CliError('CLI_USAGE', `unexpected argument ${JSON.stringify(extra[0])}`)
  return {
    url,
    queue,
    count: parseNumberOption('count', options.count) ?? 0,
    save: options.save === true,
    dir: options.dir === undefined ? '.' : String(options.dir),
    ...parseCommonOptions(options),
  }
}

/**
 * Shows the first messages of a queue and leaves them there, in the same order: they are fetched
 * with `basic.get` without acknowledgement on a channel of their own, which is closed as soon as
 * the last one is fetched, so the broker puts them all back at their places. They are printed (or
 * saved) after that, so live consumers wait only for the fetching. Stops at an empty queue.
 */
export async function inspectQueue(
  ctx: CliContext,
  args: readonly string[],
  options: InspectQueueOptions,
): Promise<InspectQueueResult> {
  const settings = resolveSettings(args, options, ctx.env)
  return runInspectQueue(settings.ndjson ? ndjsonContext(ctx) : ctx, settings)
}

/** `inspectQueue` with checked settings. */
export async function runInspectQueue(ctx: CliContext, settings: InspectQueueSettings): Promise<InspectQueueResult> {
  if (settings.save) await checkSaveDirectory(settings.dir)
  const bus = await connectBus(ctx, settings.url, {
    tool: 'inspect-queue',
    connectTimeoutMs: settings.connectTimeoutMs,
  })
  try {
    return await inspectWith(ctx, bus, settings)
  } finally {
    await bus.close()
  }
}

async function inspectWith(
  ctx: CliContext,
  bus: Supervisor,
  settings: InspectQueueSettings,
): Promise<InspectQueueResult> {
  const { queue } = settings
  const ready = await countReadyMessages(bus, queue)
  const limit = settings.count > 0 ? settings.count : ready
  const result: InspectQueueResult = { queue, ready, shown: 0, saved: 0 }
  if (limit === 0) {
    ctx.logger.info(`Queue ${queue} is empty.`)
    return result
  }
  const progress = createProgress(ctx, `fetching ${queue}`, limit)
  const pending: FetchedMessage[] = []
  let bytes = 0
  const show = async (): Promise<void> => {
    for (const message of pending.splice(0)) {
      result.shown += 1
      const described = describeFetched(result.shown, message)
      if (settings.save) {
        described.savedAs = await save(settings, described, message)
        result.saved += 1
      }
      print(ctx, described, settings)
    }
    bytes = 0
  }
  let fetched = 0
  try {
    await bus.browse(queue, async (browser) => {
      while (fetched < limit && !ctx.signal.aborted) {
        const message = await browser.get()
        if (message === undefined) break
        fetched += 1
        pending.push(message)
        bytes += message.content.length
        progress.update(fetched)
        if (bytes > BUFFER_BYTES) await show()
      }
      // Closing the browser's channel (browse does) returns every unacknowledged message to its place.
    })
  } finally {
    progress.end()
  }
  await show()
  const shortBy = settings.count > 0 && fetched < settings.count ? ` (the queue held only ${fetched})` : ''
  ctx.logger.info(
    `${fetched} message${fetched === 1 ? '' : 's'} of ${queue} shown${shortBy}${ctx.signal.aborted ? ' before the interruption' : ''}; all are back in the queue, in order, now flagged redelivered.`,
  )
  return result
}

async function save(
  settings: InspectQueueSettings,
  described: InspectedMessage,
  message: FetchedMessage,
): Promise<string> {
  const conversation = described.headers.conversation_id
  const stem = `${safeNamePart(described.routingKey)}.${safeNamePart(typeof conversation === 'string' ? conversation : '')}`
  try {
    return await saveUnique(settings.dir, stem, extensionFor(message.properties.contentType), message.content)
  } catch (error) {
    throw new CliError(
      'CLI_FAILED',
      `cannot save message #${described.index} in ${settings.dir}: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
}

function print(ctx: CliContext, message: InspectedMessage, settings: InspectQueueSettings): void {
  if (settings.ndjson) {
    writeNdjson(ctx, message)
    return
  }
  const options = { depth: null, colors: ctx.isTTY, breakLength: 100 }
  const properties = { ...message.properties }
  if (typeof properties.timestamp === 'number') properties.timestamp = new Date(properties.timestamp * 1000)
  const lines = [
    `[${message.routingKey}] #${message.index} from exchange ${JSON.stringify(message.exchange)}${message.redelivered ? ', redelivered' : ''}`,
    `Properties: ${inspect(properties, options)}`,
    `Headers: ${inspect(message.headers, options)}`,
    ...deaths(message.headers),
  ]
  if (message.savedAs !== undefined) lines.push(`Payload saved as ${message.savedAs}`)
  else if (message.payloadError !== undefined) {
    lines.push(
      `Undecodable payload: ${message.payloadError}`,
      `Body (${message.body?.length ?? 0} bytes, hex):`,
      hex(message.body),
    )
  } else lines.push('Payload:', inspect(message.payload, options))
  lines.push('-----------', '')
  ctx.logger.log(lines.join('\n'))
}

/** One line per `x-death` entry: where and why the message died, how often, when last. */
function deaths(headers: Record<string, unknown>): string[] {
  return readDeaths(headers).map((death) => {
    const time = Number.isFinite(death.time) ? ` last at ${new Date(death.time * 1000).toISOString()}` : ''
    return `Died: ${death.reason} in queue ${death.queue} (exchange ${JSON.stringify(death.exchange)}, routing keys ${death.routingKeys.join(', ')}) ${death.count} time(s)${time}`
  })
}

function hex(body: Uint8Array | undefined): string {
  if (!body) return ''
  const limit = 4096
  const shown = Buffer.from(body.subarray(0, limit)).toString('hex')
  return body.length > limit ? `${shown}… (${body.length - limit} more bytes)` : shown
}
