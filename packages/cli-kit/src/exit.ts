/**
 * Exit codes of the debug tools (sysexits where one fits): 0 success, 1 the operation failed
 * (error result, nack, unroutable), 2 timeout, 64 usage error, 69 broker unreachable.
 */
export const EXIT = { OK: 0, FAILED: 1, TIMEOUT: 2, USAGE: 64, UNAVAILABLE: 69 } as const

/** One of the `EXIT` codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** Exit code after a second Ctrl-C (128 + SIGINT), or when an interrupted tool does not end in time. */
export const EXIT_INTERRUPTED = 130
