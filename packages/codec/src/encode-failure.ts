import { EncodeError, type EncodeErrorCode } from './errors.js'
import { MAX_DEPTH } from './limits.js'

/** A step from a container to one of its items: object key, array index, or `Map` key. */
type PathSegment = string | number | { mapKey: unknown }

/**
 * Thrown inside the encoders instead of an `EncodeError`: the containers that it unwinds through
 * add their key to `path` (innermost first), so the final error can say where the bad value is
 * without the encoders tracking a path on the hot path.
 */
export class EncodeFailure {
  readonly path: PathSegment[] = []
  readonly containers: object[] = []

  constructor(
    readonly code: EncodeErrorCode,
    readonly detail: string,
    readonly cause?: unknown,
  ) {}
}

/** Records that `error` unwinds through `container` at `segment`; returns it for `throw`. */
export function throughContainer(error: unknown, segment: PathSegment, container: object): unknown {
  if (error instanceof RangeError) return error // out of stack: the top level reports it
  const failure =
    error instanceof EncodeFailure
      ? error
      : new EncodeFailure('ENCODE_UNSUPPORTED_VALUE', 'reading the value threw an error', error)
  failure.path.push(segment)
  failure.containers.push(container)
  return failure
}

/** A value the data model does not have, where `undefined` cannot be dropped (top level, `Map` key). */
export function unsupportedValue(value: unknown): EncodeFailure {
  if (value === undefined) {
    return new EncodeFailure('ENCODE_UNSUPPORTED_VALUE', 'undefined is not a value here: send null instead')
  }
  return new EncodeFailure(
    'ENCODE_UNSUPPORTED_VALUE',
    `cannot encode ${describe(value)}: convert it to plain data first (object, array, string, number, bigint, boolean, null, Uint8Array, Map or Date)`,
  )
}

/** The failure for a string that UTF-8 cannot carry. */
export function loneSurrogate(): EncodeFailure {
  return new EncodeFailure(
    'ENCODE_INVALID_STRING',
    'a string contains a lone UTF-16 surrogate, which has no UTF-8 form: repair it (String.prototype.toWellFormed) or send bytes',
  )
}

/** The failure for a `Date` that cbor2 could not read back. */
export function invalidDate(date: Date): EncodeFailure {
  const what = Number.isNaN(date.getTime()) ? 'an invalid Date' : `the Date ${date.toISOString()}`
  return new EncodeFailure(
    'ENCODE_INVALID_DATE',
    `cannot encode ${what}: dates must lie in the years 1-9999 (Python datetime); send a number or a string instead`,
  )
}

/** The failure raised when the nesting limit is hit; the top level tells cycles from depth. */
export function tooDeep(): EncodeFailure {
  return new EncodeFailure(
    'ENCODE_TOO_DEEP',
    `the value nests arrays, objects and maps more than ${MAX_DEPTH} levels deep: flatten it`,
  )
}

/** Turns whatever the encoders threw into the `EncodeError` that `encode` promises. */
export function toEncodeError(error: unknown): EncodeError {
  if (error instanceof EncodeError) return error
  if (error instanceof EncodeFailure) {
    const segments = error.path.slice().reverse()
    const containers = error.containers.slice().reverse()
    if (error.code === 'ENCODE_TOO_DEEP') {
      const cycle = findCycle(containers)
      if (cycle) {
        const from = formatPath(segments.slice(0, cycle[0]))
        const to = formatPath(segments.slice(0, cycle[1]))
        return new EncodeError(
          'ENCODE_CIRCULAR',
          `the value is circular: ${to} is ${from} again; remove the cycle (CBOR and JSON carry trees)`,
          { path: to },
        )
      }
    }
    const path = formatPath(segments)
    const shown = segments.length > 12 ? `${formatPath(segments.slice(0, 12))}… (${segments.length} levels)` : path
    return new EncodeError(error.code, `${error.detail} (at ${shown})`, { path, cause: error.cause })
  }
  if (error instanceof RangeError) {
    return new EncodeError('ENCODE_TOO_DEEP', 'the call stack ran out while encoding: flatten the value', {
      cause: error,
    })
  }
  return new EncodeError('ENCODE_UNSUPPORTED_VALUE', 'the value could not be encoded', { cause: error })
}

function findCycle(containers: object[]): [number, number] | undefined {
  const seen = new Map<object, number>()
  for (let index = 0; index < containers.length; index++) {
    const container = containers[index] as object
    const first = seen.get(container)
    if (first !== undefined) return [first, index]
    seen.set(container, index)
  }
  return undefined
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

function formatPath(segments: PathSegment[]): string {
  let path = '$'
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`
    else if (typeof segment === 'string')
      path += IDENTIFIER.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`
    else path += `.get(${describeKey(segment.mapKey)})`
  }
  return path
}

function describeKey(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return JSON.stringify(key)
    case 'bigint':
      return `${key}n`
    case 'number':
    case 'boolean':
      return String(key)
    default:
      return key === null ? 'null' : `<${describe(key)}>`
  }
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'function':
      return 'a function'
    case 'symbol':
      return 'a symbol'
    case 'undefined':
      return 'undefined'
    case 'object': {
      if (value === null) return 'null'
      const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name
      return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object with a custom prototype'
    }
    default:
      return typeof value
  }
}
