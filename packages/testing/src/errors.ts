import { AmError } from '@am/errors'

/** Codes of the errors thrown by `@am/testing` itself (the bus throws `@am/bus-core` errors). */
export type TestingErrorCode =
  | 'HARNESS_TIMEOUT'
  | 'HARNESS_STATE'
  | 'HARNESS_NOT_MEMORY'
  | 'COMMAND_UNROUTABLE'
  | 'CLOCK_NOT_INSTALLED'
  | 'CLOCK_INSTALLED'
  | 'BROKER_UNSUPPORTED'

/** An error of the test harness: a wait that timed out, a misuse, an unsupported broker feature. */
export class TestingError extends AmError<TestingErrorCode> {}
