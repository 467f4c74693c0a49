// The channel errors RabbitMQ raises, shaped as amqplib reports them (`code` and message), and
// their translation into `@am/bus-core` errors exactly as the real supervisor does it.
import { type TopologyConflict, TopologyError } from '@am/bus-core'

const CODE_NAMES: Record<number, string> = {
  320: 'CONNECTION-FORCED',
  403: 'ACCESS-REFUSED',
  404: 'NOT-FOUND',
  405: 'RESOURCE-LOCKED',
  406: 'PRECONDITION-FAILED',
}

/** A channel error as amqplib reports it. @internal */
export interface AmqpError extends Error {
  code: number
}

/** Builds the error amqplib gives for a refused operation (e.g. `QueueDeclare`). @internal */
export function amqpError(code: number, operation: string, text: string): AmqpError {
  const name = CODE_NAMES[code] ?? String(code)
  const error = new Error(
    `Operation failed: ${operation}; ${code} (${name}) with message "${name.replace(/-/g, '_')} - ${text}"`,
  ) as AmqpError
  error.code = code
  return error
}

/** A channel closed by the broker while the channel was in use (publish to a missing exchange…). @internal */
export function channelClosedError(code: number, text: string): AmqpError {
  const name = CODE_NAMES[code] ?? String(code)
  const error = new Error(
    `Channel closed by server: ${code} (${name}) with message "${name.replace(/-/g, '_')} - ${text}"`,
  ) as AmqpError
  error.code = code
  return error
}

const INEQUIVALENT =
  /inequivalent arg '([^']+)' for (exchange|queue) '([^']*)' in vhost '[^']*': received (.+?) but current is (.+?)"?$/

/**
 * What `@am/bus-core` turns a refused declaration into (its internal `toTopologyError`, which it
 * does not export: same messages, codes and conflicts).
 * @internal
 */
export function toTopologyError(error: unknown, what: TopologyConflict): TopologyError | undefined {
  const code = (error as { code?: unknown } | null)?.code
  const text = error instanceof Error ? error.message : String(error)
  const options = { cause: error }
  if (code === 406) {
    const match = INEQUIVALENT.exec(text)
    const conflict: TopologyConflict = match
      ? {
          kind: match[2] as 'exchange' | 'queue',
          name: match[3] ?? what.name,
          attribute: match[1],
          declared: match[4],
          current: match[5],
        }
      : what
    const detail = conflict.attribute
      ? `its '${conflict.attribute}' is ${conflict.current} on the broker but we declare ${conflict.declared}`
      : text
    return new TopologyError(
      'TOPOLOGY_PRECONDITION_FAILED',
      `${conflict.kind} '${conflict.name}' exists with other attributes: ${detail}. Delete or fix it on the broker (or change the declaration); retrying cannot help`,
      conflict,
      options,
    )
  }
  if (code === 403) {
    return new TopologyError(
      'TOPOLOGY_ACCESS_REFUSED',
      `access refused declaring ${what.kind} '${what.name}': ${text}`,
      what,
      options,
    )
  }
  if (code === 405) {
    return new TopologyError(
      'TOPOLOGY_RESOURCE_LOCKED',
      `${what.kind} '${what.name}' is locked (an exclusive queue of another connection): ${text}`,
      what,
      options,
    )
  }
  if (code === 404) {
    return new TopologyError('TOPOLOGY_NOT_FOUND', `${what.kind} '${what.name}' not found: ${text}`, what, options)
  }
  return undefined
}
