import { AmError, type AmErrorOptions, isAmError } from '@am/errors'
import { EXIT, type ExitCode } from './exit.js'

/** Codes of `CliError`: each one decides the exit code. */
export type CliErrorCode = 'CLI_USAGE' | 'CLI_UNAVAILABLE' | 'CLI_TIMEOUT' | 'CLI_FAILED'

const EXIT_BY_CODE: Record<CliErrorCode, ExitCode> = {
  CLI_USAGE: EXIT.USAGE,
  CLI_UNAVAILABLE: EXIT.UNAVAILABLE,
  CLI_TIMEOUT: EXIT.TIMEOUT,
  CLI_FAILED: EXIT.FAILED,
}

/**
 * An error a tool reports as one line and an exit code: `CLI_USAGE` → 64, `CLI_UNAVAILABLE` → 69,
 * `CLI_TIMEOUT` → 2, `CLI_FAILED` → 1.
 */
export class CliError extends AmError<CliErrorCode> {
  /** The process exit code this error ends the tool with. */
  readonly exitCode: ExitCode

  constructor(code: CliErrorCode, message: string, options?: AmErrorOptions) {
    super(code, message, options)
    this.exitCode = EXIT_BY_CODE[code]
  }
}

/**
 * The exit code for an error: a `CliError`'s own; for other AM Bus errors, 69 for connection
 * failures, 64 for invalid options, 1 otherwise; `undefined` for unknown errors (print the stack).
 */
export function exitCodeOf(error: unknown): ExitCode | undefined {
  if (error instanceof CliError) return error.exitCode
  if (isAmError(error)) {
    if (error.code in EXIT_BY_CODE) return EXIT_BY_CODE[error.code as CliErrorCode]
    if (/^(CONNECTION_|SUPERVISOR_)/.test(error.code)) return EXIT.UNAVAILABLE
    if (error.code === 'OPTIONS_INVALID') return EXIT.USAGE
    return EXIT.FAILED
  }
  // cac's parse errors (unknown option, missing argument, missing option value).
  if (error instanceof Error && error.name === 'CACError') return EXIT.USAGE
  return undefined
}
