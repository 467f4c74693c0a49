import { AmError } from '@am/errors'

/** Codes of the errors thrown by `@am/protocol`. */
export type ProtocolErrorCode = 'LOG_INVALID_LEVEL'

/** Base class of the errors thrown by `@am/protocol`. */
export class ProtocolError extends AmError<ProtocolErrorCode> {}
