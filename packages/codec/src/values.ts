/** The largest integer a `number` holds exactly, as a bigint: beyond it, decoders give bigints. */
export const MAX_SAFE_BIGINT: bigint = BigInt(Number.MAX_SAFE_INTEGER)

interface WellFormed {
  isWellFormed(): boolean // ES2024, in Node >= 20; not in the ES2023 lib we compile against
}

/** Whether `text` has no lone UTF-16 surrogate, i.e. has a UTF-8 form. */
export function isWellFormed(text: string): boolean {
  return (text as unknown as WellFormed).isWellFormed()
}

/** Sets an own data property, also for `__proto__` (plain assignment would change the prototype). */
export function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true })
}
