import { AmError } from '@am/errors'

/** Codes of the errors thrown by `@am/service`. */
export type ServiceErrorCode =
  | 'SERVICE_INVALID'
  | 'SERVICE_STATE'
  | 'SERVICE_STOPPED'
  | 'REQUEST_TIMEOUT'
  | 'REQUEST_FAILED'
  | 'REQUEST_UNROUTABLE'
  | 'LOG_INVALID_LEVEL'
  | 'MESSAGE_REFUSED'
  | 'BATCH_PREFETCH_TOO_LOW'
  | 'MESSAGE_INVALID'
  | 'OUTPUT_INVALID'
  | 'PUBLISH_UNDECLARED'

/** Base class of the errors thrown by `@am/service`. */
export class ServiceError extends AmError<ServiceErrorCode> {}

/**
 * A `request()` that did not end in a success result: an error result (`REQUEST_FAILED`, with the
 * result's `payload` and `status`), no result in time (`REQUEST_TIMEOUT`), or a command nobody
 * listens to (`REQUEST_UNROUTABLE`).
 */
export class RequestError extends ServiceError {
  /** The error result's payload, for `REQUEST_FAILED`. */
  readonly payload: unknown
  /** The result's status header, for `REQUEST_FAILED`. */
  readonly status: string | undefined

  constructor(
    code: ServiceErrorCode,
    message: string,
    details: { payload?: unknown; status?: string; cause?: unknown } = {},
  ) {
    super(code, message, 'cause' in details ? { cause: details.cause } : {})
    this.payload = details.payload
    this.status = details.status
  }
}
