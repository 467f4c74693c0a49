import { AmError, type AmErrorOptions } from '@am/errors'

/** Codes of the errors thrown by `@am/tmp-store`. */
export type TmpStoreErrorCode =
  /** Redis (or every sentinel) could not be reached, or did not answer within `commandTimeout`. */
  | 'STORE_UNAVAILABLE'
  /** Redis answered a command with an error (wrong type, refused password, read-only replica…). */
  | 'STORE_COMMAND_FAILED'
  /** A stored value is not valid CBOR. */
  | 'STORE_DECODE_FAILED'
  /** A value cannot be encoded in CBOR. */
  | 'STORE_ENCODE_FAILED'
  /** `peekOrCreate` could not take the creation lock within `lockWait`. */
  | 'STORE_LOCK_TIMEOUT'
  /** The store was used after `close()` or `destroy()`. */
  | 'STORE_CLOSED'
  /** Invalid options or arguments (no namespace, a TTL that is not a positive whole number…). */
  | 'STORE_INVALID_ARGUMENT'

/** Every error of `@am/tmp-store`; branch on `code`. */
export class TmpStoreError extends AmError<TmpStoreErrorCode> {
  constructor(code: TmpStoreErrorCode, message: string, options: AmErrorOptions = {}) {
    super(code, message, options)
  }
}
