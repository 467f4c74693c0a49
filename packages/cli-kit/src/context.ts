import { formatWithOptions } from 'node:util'
import { type ConsolaInstance, type ConsolaReporter, createConsola, LogLevels } from 'consola'

/** What a command needs from its process, injected so tests can replace each part. */
export interface CliContext {
  /** Human messages; in `--ndjson` mode it writes to stderr (see `ndjsonContext`). */
  logger: ConsolaInstance
  /** Data output (NDJSON lines). */
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  env: NodeJS.ProcessEnv
  /** Aborted by the first SIGINT/SIGTERM: commands stop waiting and clean up. */
  signal: AbortSignal
  /** Whether stdout is a terminal (colours, progress). */
  isTTY: boolean
}

/**
 * The context of the running process: `process.stdout`/`stderr`/`env`, a consola logger at level
 * `info` (set explicitly: consola drops to `warn` when it thinks it runs under a test runner, P11),
 * fancy on a terminal and plain lines otherwise. Every part can be overridden.
 */
export function createContext(overrides: Partial<CliContext> = {}): CliContext {
  const stdout = overrides.stdout ?? process.stdout
  const stderr = overrides.stderr ?? process.stderr
  const isTTY = overrides.isTTY ?? (stdout as { isTTY?: boolean }).isTTY === true
  const logger =
    overrides.logger ??
    createConsola({
      level: LogLevels.info,
      // consola's types want tty streams; any writable stream does.
      stdout: stdout as NodeJS.WriteStream,
      stderr: stderr as NodeJS.WriteStream,
      ...(isTTY ? { fancy: true } : { reporters: [plainReporter] }),
    })
  return {
    logger,
    stdout,
    stderr,
    env: overrides.env ?? process.env,
    signal: overrides.signal ?? new AbortController().signal,
    isTTY,
  }
}

/**
 * The same context with its logger writing to stderr, so that stdout carries nothing but NDJSON.
 */
export function ndjsonContext(ctx: CliContext): CliContext {
  return { ...ctx, logger: ctx.logger.create({ stdout: ctx.stderr as NodeJS.WriteStream }) }
}

/**
 * Plain lines for pipes and files: messages as they are on stdout, warnings and errors on stderr
 * prefixed with their type. No badges, no colours, no dates.
 */
const plainReporter: ConsolaReporter = {
  log(logObj, { options }) {
    const text = formatWithOptions({ colors: false }, ...logObj.args)
    if (logObj.level < 2) options.stderr?.write(`${logObj.type}: ${text}\n`)
    else options.stdout?.write(`${text}\n`)
  },
}
