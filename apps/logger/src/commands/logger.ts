import { defineTopology } from '@am/bus-core'
import { type CliContext, CliError, connectBus, logLevelOf, ndjsonContext, parseLog, writeNdjson } from '@am/cli-kit'
import { EXCHANGES } from '@am/protocol'

/** Positional arguments of `am-logger`. */
export interface LoggerArgs {
  url: string
}

/** Options of `am-logger`. */
export interface LoggerOptions {
  /** Topic patterns bound on `logs` (`svc.*`, `*.ERROR`, `#`). */
  filters: string[]
  /** Minimum severity: keep logs whose GELF `level` is at most this (0 EMERGENCY … 7 DEBUG). */
  level?: number
  /** Stop after this many logs. */
  count?: number
  connectTimeoutMs: number
  ndjson: boolean
}

/** How the run ended. */
export interface LoggerResult {
  /** Logs shown. */
  shown: number
}

export type { LogLine } from '@am/cli-kit'

// ANSI colours by syslog level: emergency/alert/critical bold red, error red, warning yellow,
// notice cyan, info plain, debug grey.
const COLOURS = [
  '\u001b[1;31m',
  '\u001b[1;31m',
  '\u001b[1;31m',
  '\u001b[31m',
  '\u001b[33m',
  '\u001b[36m',
  '',
  '\u001b[90m',
]
const RESET = '\u001b[0m'

/**
 * Tails the GELF logs of the bus: an exclusive server-named queue on `logs` bound with each
 * pattern, consumed without acks (logs are expendable, as in eventail). Prints
 * `[<routing key>] <GELF JSON>` per log (coloured by level on a terminal) or NDJSON. Runs until
 * Ctrl-C or `count` logs; survives connection losses (a new queue is bound on reconnection; logs
 * published meanwhile are not seen).
 */
export async function tailLogs(ctx: CliContext, args: LoggerArgs, options: LoggerOptions): Promise<LoggerResult> {
  const out = options.ndjson ? ndjsonContext(ctx) : ctx
  const colour = ctx.isTTY && !options.ndjson && !ctx.env.NO_COLOR
  const bus = await connectBus(out, args.url, {
    tool: 'logger',
    topology: defineTopology({
      exchanges: [{ name: EXCHANGES.logs, type: 'topic' }],
      queues: [{ key: 'logs', name: '' }],
      bindings: options.filters.map((routingKey) => ({ queue: 'logs', exchange: EXCHANGES.logs, routingKey })),
    }),
    connectTimeoutMs: options.connectTimeoutMs,
  })
  let shown = 0
  try {
    await new Promise<void>((resolve, reject) => {
      if (options.count === 0) return resolve()
      const stop = (): void => {
        ctx.signal.removeEventListener('abort', stop)
        bus.off('failed', onFailed)
        resolve()
      }
      const onFailed = (error: Error): void => {
        ctx.signal.removeEventListener('abort', stop)
        reject(
          new CliError('CLI_UNAVAILABLE', `the broker connection failed for good: ${error.message}`, { cause: error }),
        )
      }
      ctx.signal.addEventListener('abort', stop, { once: true })
      if (ctx.signal.aborted) return stop()
      bus.on('failed', onFailed)
      bus.on('connected', ({ generation }) => {
        if (generation > 1) out.logger.info(`reconnected; subscribed again to logs: ${options.filters.join(' ')}`)
      })
      bus
        .consume(
          'logs',
          (delivery) => {
            if (options.count !== undefined && shown >= options.count) return
            const line = parseLog(delivery.routingKey, delivery.body)
            if (line.log === null) {
              out.logger.warn(`a log on ${delivery.routingKey} is not GELF JSON; showing it as text`)
            }
            const level = logLevelOf(line)
            if (options.level !== undefined && level !== undefined && level > options.level) return
            shown += 1
            if (options.ndjson) writeNdjson(out, line)
            else {
              const text = `[${line.routingKey}] ${line.raw ?? delivery.body.toString('utf8')}`
              const code = colour && level !== undefined ? (COLOURS[level] ?? '') : ''
              out.logger.log(code ? `${code}${text}${RESET}` : text)
            }
            if (options.count !== undefined && shown >= options.count) stop()
          },
          { noAck: true },
        )
        .then(
          () => out.logger.info(`subscribed to logs: ${options.filters.join(' ')}; Ctrl-C to quit`),
          (error: unknown) => {
            ctx.signal.removeEventListener('abort', stop)
            reject(error as Error)
          },
        )
    })
  } catch (error) {
    await bus.destroy()
    throw error
  }
  await bus.close()
  return { shown }
}
