import { redactUrl } from '@am/errors'
import { type CliContext, createContext } from './context.js'
import { exitCodeOf } from './errors.js'
import { EXIT, EXIT_INTERRUPTED } from './exit.js'

/** How long a tool may take to wind down after the first Ctrl-C/SIGTERM before it is cut short, in ms. */
const GRACE_MS = 2_000

/**
 * The shebang entry's top-level policy (docs/contributing.md#command-line-tools): builds the context, runs `main`, and exits with
 * the code it returns. A thrown `CliError` or other AM Bus error becomes one line on stderr and its
 * exit code (usage 64, unavailable 69, timeout 2, failed 1); an unknown error prints its stack and
 * exits 1; a cac parse error exits 64. Every line has URL passwords hidden.
 *
 * The first SIGINT/SIGTERM aborts `ctx.signal` (commands stop and clean up; if they are not done
 * within 2 s the process exits 130); a second one exits 130 at once. A closed stdout pipe
 * (`am-logger | head`) ends the tool quietly.
 * @example
 * await runCli(async (ctx) => {
 *   const cli = createCli(ctx)
 *   cli.parse(normalizeArgv(process.argv), { run: false })
 *   return (await cli.runMatchedCommand()) ?? EXIT.OK
 * })
 */
export async function runCli(main: (ctx: CliContext) => Promise<number>): Promise<never> {
  const controller = new AbortController()
  const ctx = createContext({ signal: controller.signal })
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1
    if (signals > 1) process.exit(EXIT_INTERRUPTED)
    controller.abort(new DOMException(`interrupted by ${signal}`, 'AbortError'))
    setTimeout(() => process.exit(EXIT_INTERRUPTED), GRACE_MS).unref()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    controller.abort(new DOMException('stdout closed', 'AbortError'))
  })

  let code: number
  try {
    code = await main(ctx)
  } catch (error) {
    code = reportError(ctx, error)
  }
  await flush(process.stdout)
  await flush(process.stderr)
  process.exit(code)
}

/**
 * Prints a failure the way `runCli` does and returns its exit code: one redacted line for known
 * errors, the redacted stack (with causes) for unknown ones, `interrupted` after a signal.
 */
export function reportError(ctx: CliContext, error: unknown): number {
  if (ctx.signal.aborted && (error === ctx.signal.reason || (error as Error | null)?.name === 'AbortError')) {
    ctx.logger.warn(redactUrl(String((ctx.signal.reason as Error | undefined)?.message ?? 'interrupted')))
    return EXIT_INTERRUPTED
  }
  const code = exitCodeOf(error)
  if (code !== undefined) {
    ctx.logger.error(redactUrl((error as Error).message))
    return code
  }
  ctx.logger.error(redactUrl(describe(error)))
  return EXIT.FAILED
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const text = error.stack ?? `${error.name}: ${error.message}`
  return error.cause === undefined ? text : `${text}\n[cause]: ${describe(error.cause)}`
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1_000)
    stream.write('', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
