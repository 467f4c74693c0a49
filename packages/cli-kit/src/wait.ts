import { CliError } from './errors.js'

/** Options of `withDeadline`. */
export interface DeadlineOptions {
  /** Aborting it rejects with its reason (Ctrl-C). */
  signal?: AbortSignal
  /** Rejects with `CLI_TIMEOUT` (exit 2) after this many ms; no timeout when undefined. */
  timeoutMs?: number
  /** Completes the timeout message: `timed out after 30 s waiting for <what>`. */
  what?: string
}

/**
 * Waits for `promise`, but no longer than `timeoutMs` and not past an abort of `signal`
 * (no unbounded waits: docs/contributing.md#waits-and-timeouts). The promise itself is not cancelled: clean up after a rejection;
 * its own later rejection is then ignored (never an unhandled rejection).
 * @throws {CliError} `CLI_TIMEOUT` after `timeoutMs`; the signal's reason when it aborts.
 */
export async function withDeadline<T>(promise: Promise<T>, options: DeadlineOptions): Promise<T> {
  const { signal, timeoutMs, what = 'the broker' } = options
  promise.catch(() => undefined)
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        if (timeoutMs !== undefined) {
          timer = setTimeout(
            () =>
              reject(new CliError('CLI_TIMEOUT', `timed out after ${formatDuration(timeoutMs)} waiting for ${what}`)),
            timeoutMs,
          )
        }
        if (signal) {
          onAbort = () => reject(signal.reason)
          if (signal.aborted) onAbort()
          else signal.addEventListener('abort', onAbort, { once: true })
        }
      }),
    ])
  } finally {
    clearTimeout(timer)
    if (onAbort) signal?.removeEventListener('abort', onAbort)
  }
}

/** A duration as the tools print it: `5 s`, or `300 ms` when not a whole number of seconds. */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}
