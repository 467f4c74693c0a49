import { inspect } from 'node:util'
import { type Delivery, eventailTopology, type Supervisor } from '@am/bus-core'
import {
  type CliContext,
  CliError,
  checkSaveDirectory,
  connectBus,
  describeDelivery,
  extensionFor,
  type FieldFilter,
  listOption,
  type MonitoredMessage,
  type MonitoredOrigin,
  matchesFilters,
  ndjsonContext,
  parseCommonOptions,
  parseFieldFilter,
  parseNumberOption,
  readableHeaders,
  safeNamePart,
  saveUnique,
  splitUrl,
  toJsonSafe,
  writeNdjson,
} from '@am/cli-kit'
import { TOOL_PREFETCH } from '@am/protocol'

/** Options as cac hands them (repeatable options may be a string or a list). */
export interface MonitorOptions {
  events?: unknown
  commands?: unknown
  configurations?: unknown
  filterFields?: unknown
  save?: boolean
  json?: boolean
  dir?: unknown
  count?: unknown
  ndjson?: boolean
  connectTimeout?: unknown
}

/** What `monitor` does, checked. */
export interface MonitorSettings {
  url: string
  /** Topic patterns bound on `events`, `commands` and `configurations` (each may be empty). */
  events: string[]
  commands: string[]
  configurations: string[]
  filters: FieldFilter[]
  save: boolean
  /** With `save`: write the decoded payload as JSON instead of the original bytes. */
  json: boolean
  /** Where `save` writes. */
  dir: string
  /** Stop after this many messages shown; undefined = until Ctrl-C. */
  count: number | undefined
  ndjson: boolean
  connectTimeoutMs: number
}

/** How a monitoring session went. */
export interface MonitorResult {
  /** Messages printed (malformed ones included). */
  shown: number
  /** Messages left out by `--filter-fields`. */
  filtered: number
  /** Messages that failed the envelope checks (shown as malformed). */
  malformed: number
  /** Files written by `--save`. */
  saved: number
  /** Why it stopped. */
  stoppedBy: 'count' | 'signal'
}

// The readable form of a delivery lives in @am/cli-kit (shared with am-console).
export { describeDelivery as describe, type MonitoredKind, type MonitoredMessage } from '@am/cli-kit'

type Origin = MonitoredOrigin
const ORIGINS: readonly Origin[] = ['events', 'commands', 'configurations']

/** Checks the arguments: `[url]`, the patterns, the filters, `--count`, `--dir`. */
export function resolveSettings(
  args: readonly string[],
  options: MonitorOptions,
  env: NodeJS.ProcessEnv,
): MonitorSettings {
  const { url, rest } = splitUrl(args, env)
  if (rest.length > 0) {
    throw new CliError(
      'CLI_USAGE',
      `unexpected argument ${JSON.stringify(rest[0])}: am-monitor takes only the broker URL (patterns go after --events, --commands or --configurations)`,
    )
  }
  const filters = listOption(options.filterFields).map((text) => {
    const filter = parseFieldFilter(text)
    if (!filter) throw new CliError('CLI_USAGE', `--filter-fields takes field=value, got ${JSON.stringify(text)}`)
    return filter
  })
  const settings: MonitorSettings = {
    url,
    events: listOption(options.events),
    commands: listOption(options.commands),
    configurations: listOption(options.configurations),
    filters,
    save: options.save === true,
    json: options.json === true,
    dir: options.dir === undefined ? '.' : String(options.dir),
    count: parseNumberOption('count', options.count, { min: 1 }),
    ...parseCommonOptions(options),
  }
  if (settings.events.length + settings.commands.length + settings.configurations.length === 0) {
    throw new CliError(
      'CLI_USAGE',
      'nothing to monitor: give topic patterns with --events, --commands and/or --configurations (e.g. --events "#")',
    )
  }
  return settings
}

/**
 * Shows the messages of the bus live: binds exclusive server-named queues (service
 * `debug_monitor`) to the given patterns, classifies each message by the queue it arrived on,
 * prints it (or writes an NDJSON line), acks it. Runs until Ctrl-C/SIGTERM or `--count` messages.
 * Unlike eventail's monitor it publishes nothing on the bus and needs no configuration phase.
 */
export async function monitor(
  ctx: CliContext,
  args: readonly string[],
  options: MonitorOptions,
): Promise<MonitorResult> {
  const settings = resolveSettings(args, options, ctx.env)
  return runMonitor(settings.ndjson ? ndjsonContext(ctx) : ctx, settings)
}

/** `monitor` with checked settings. */
export async function runMonitor(ctx: CliContext, settings: MonitorSettings): Promise<MonitorResult> {
  if (settings.save) await checkSaveDirectory(settings.dir)
  const topology = eventailTopology({
    service: 'debug_monitor',
    events: settings.events,
    commands: settings.commands,
    configurations: settings.configurations,
    exclusive: true,
  })
  const bus = await connectBus(ctx, settings.url, {
    tool: 'monitor',
    topology,
    connectTimeoutMs: settings.connectTimeoutMs,
  })
  try {
    return await watch(ctx, bus, settings)
  } finally {
    await bus.close()
  }
}

async function watch(ctx: CliContext, bus: Supervisor, settings: MonitorSettings): Promise<MonitorResult> {
  const result: MonitorResult = { shown: 0, filtered: 0, malformed: 0, saved: 0, stoppedBy: 'signal' }
  let stop!: (outcome: 'count' | 'signal' | Error) => void
  const stopped = new Promise<'count' | 'signal' | Error>((resolve) => {
    stop = resolve
  })
  let done = false
  // Deliveries are handled one at a time, in arrival order, so output and files follow the bus.
  let chain = Promise.resolve()
  const handle = async (origin: Origin, delivery: Delivery): Promise<void> => {
    if (done) {
      delivery.ack()
      return
    }
    const message = describeDelivery(origin, delivery)
    if (!matchesFilters(message.payload, settings.filters)) {
      result.filtered += 1
      delivery.ack()
      return
    }
    if (settings.save) {
      message.savedAs = await save(settings, message, delivery)
      result.saved += 1
    }
    print(ctx, message, settings)
    delivery.ack()
    result.shown += 1
    if (message.kind === 'malformed') result.malformed += 1
    if (settings.count !== undefined && result.shown >= settings.count) {
      done = true
      stop('count')
    }
  }
  const onAbort = (): void => stop('signal')
  const onFailed = (error: Error): void => stop(error)
  ctx.signal.addEventListener('abort', onAbort, { once: true })
  bus.on('failed', onFailed)
  try {
    if (ctx.signal.aborted) return result
    for (const origin of ORIGINS) {
      if (settings[origin].length === 0) continue
      await bus.consume(
        origin,
        (delivery) => {
          chain = chain.then(() => handle(origin, delivery)).catch((error: unknown) => stop(error as Error))
        },
        { prefetch: TOOL_PREFETCH },
      )
    }
    ctx.logger.info(
      `Monitoring ${ORIGINS.filter((origin) => settings[origin].length > 0)
        .map((origin) => `${origin} ${settings[origin].join(' ')}`)
        .join(
          ', ',
        )}${settings.filters.length > 0 ? ` where ${settings.filters.map(describeFilter).join(' and ')}` : ''}. Press Ctrl-C to quit.`,
    )
    const outcome = await stopped
    done = true
    await chain
    if (outcome instanceof Error) {
      throw new CliError('CLI_FAILED', `monitoring stopped: ${outcome.message}`, { cause: outcome })
    }
    result.stoppedBy = outcome
    return result
  } finally {
    ctx.signal.removeEventListener('abort', onAbort)
    bus.off('failed', onFailed)
  }
}

async function save(settings: MonitorSettings, message: MonitoredMessage, delivery: Delivery): Promise<string> {
  const key = safeNamePart(message.routingKey)
  const stem =
    message.kind === 'result'
      ? `${key}-result.${safeNamePart(message.conversationId)}`
      : message.kind === 'configuration'
        ? `${key}.na`
        : `${key}.${safeNamePart(message.conversationId)}`
  try {
    if (settings.json && 'payload' in message) {
      return await saveUnique(settings.dir, stem, 'json', `${JSON.stringify(toJsonSafe(message.payload), null, 2)}\n`)
    }
    return await saveUnique(settings.dir, stem, extensionFor(message.contentType), delivery.body)
  } catch (error) {
    throw new CliError(
      'CLI_FAILED',
      `cannot save ${message.routingKey} in ${settings.dir}: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
}

function print(ctx: CliContext, message: MonitoredMessage, settings: MonitorSettings): void {
  if (settings.ndjson) {
    writeNdjson(ctx, message)
    return
  }
  const lines: string[] = []
  const meta = `Metadata: ${inspect(readableHeaders(message.headers), { breakLength: Number.POSITIVE_INFINITY, depth: null, colors: ctx.isTTY })}`
  switch (message.kind) {
    case 'event':
      lines.push(`Got an Event ${message.routingKey}`, `Conversation ID: ${message.conversationId}`, meta)
      break
    case 'command':
      lines.push(
        `Got a Command ${message.routingKey}`,
        `Conversation ID: ${message.conversationId}`,
        `Correlation ID: ${message.correlationId}`,
        `Return to: ${message.replyTo}`,
        meta,
      )
      break
    case 'result':
      lines.push(
        `Got a Result ${message.routingKey}`,
        `Conversation ID: ${message.conversationId}`,
        `Correlation ID: ${message.correlationId}`,
        `Status: ${message.status}`,
        meta,
      )
      break
    case 'configuration':
      lines.push(`Got a Configuration ${message.routingKey}`, meta)
      break
    case 'malformed':
      lines.push(
        `Got a malformed message ${message.routingKey} on the ${message.queue} queue (exchange ${JSON.stringify(message.exchange)}): ${message.reason}: ${message.error}`,
        `Conversation ID: ${message.conversationId || '(none)'}`,
        `Content type: ${message.contentType ?? '(none)'}`,
        meta,
      )
      break
  }
  if (message.savedAs !== undefined) lines.push(`Payload saved as ${message.savedAs}`)
  else if (message.body !== undefined) lines.push(`Body (${message.body.length} bytes, hex):`, hex(message.body))
  else lines.push('Payload:', inspect(message.payload, { depth: null, colors: ctx.isTTY, breakLength: 100 }))
  lines.push('---------', '')
  ctx.logger.log(lines.join('\n'))
}

function describeFilter({ field, value }: FieldFilter): string {
  return `${field} = ${inspect(value)}`
}

function hex(body: Uint8Array): string {
  const limit = 4096
  const shown = Buffer.from(body.subarray(0, limit)).toString('hex')
  return body.length > limit ? `${shown}… (${body.length - limit} more bytes)` : shown
}
