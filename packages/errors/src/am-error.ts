const BRAND = Symbol.for('@am/error')

/** Options accepted by every AM Bus error. */
export interface AmErrorOptions {
  /** The error that caused this one, passed through unchanged. */
  cause?: unknown
}

/**
 * Base class of every error the AM Bus packages throw: a stable `code` to branch on, a `name`
 * equal to the subclass name, and the `cause` passed through.
 */
export class AmError<Code extends string = string> extends Error {
  /** Stable machine-readable code, e.g. `DECODE_TRAILING_BYTES`. */
  readonly code: Code
  /** @internal brand that survives duplicated installs and CJS/ESM dual loading */
  readonly [BRAND] = true

  constructor(code: Code, message: string, options: AmErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined)
    this.code = code
    this.name = new.target.name
  }
}

/**
 * Tells whether `value` is an AM Bus error, also when it comes from another copy of the package
 * (checks a global brand, not only `instanceof`). With `code`, also checks the code.
 */
export function isAmError(value: unknown, code?: string): value is AmError {
  if (typeof value !== 'object' || value === null) return false
  const branded = (value as Record<symbol, unknown>)[BRAND] === true
  if (!branded || typeof (value as AmError).code !== 'string' || typeof (value as AmError).name !== 'string') {
    return false
  }
  return code === undefined || (value as AmError).code === code
}
