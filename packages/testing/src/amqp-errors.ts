// The channel errors RabbitMQ raises, shaped as amqplib reports them (`code` and message), and
// translated into `@am/bus-core` errors by its own `toTopologyError`, as the real supervisor does.
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
