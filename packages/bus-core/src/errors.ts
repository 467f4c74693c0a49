import { AmError, type AmErrorOptions } from '@am/errors'

/** Codes of the errors thrown by `@am/bus-core`. */
export type BusErrorCode =
  | 'CONNECTION_FAILED'
  | 'CONNECTION_LOST'
  | 'SUPERVISOR_CLOSED'
  | 'SUPERVISOR_FAILED'
  | 'CLOSE_TIMEOUT'
  | 'CHANNEL_CLOSED'
  | 'TOPOLOGY_INVALID'
  | 'TOPOLOGY_UNKNOWN_QUEUE'
  | 'TOPOLOGY_PRECONDITION_FAILED'
  | 'TOPOLOGY_ACCESS_REFUSED'
  | 'TOPOLOGY_RESOURCE_LOCKED'
  | 'TOPOLOGY_NOT_FOUND'
  | 'PUBLISH_NACKED'
  | 'PUBLISH_RETURNED'
  | 'PUBLISH_CHANNEL_CLOSED'
  | 'PUBLISH_BUFFER_FULL'
  | 'PUBLISH_INVALID'
  | 'OPTIONS_INVALID'

/**
 * Severity by class: a `MessageError` concerns one message (retry it), a `ChannelError` a channel
 * (the supervisor recycles the connection), a `ConnectionError` the connection itself.
 * `MessageError` ⊂ `ChannelError` ⊂ `ConnectionError`, so test the most specific class first.
 */
export class ConnectionError extends AmError<BusErrorCode> {
  /**
   * Set on a `CONNECTION_FAILED` the broker answered: it refused the `login` (user or password) or
   * the `vhost` (missing, or not allowed to the user). Another attempt cannot succeed until the
   * broker or the URL changes.
   */
  readonly refused: 'login' | 'vhost' | undefined

  constructor(code: BusErrorCode, message: string, options: AmErrorOptions & { refused?: 'login' | 'vhost' } = {}) {
    const { refused, ...rest } = options
    super(code, message, rest)
    this.refused = refused
  }
}

/** An error that closed (or was raised by) one AMQP channel. */
export class ChannelError extends ConnectionError {}

/** An error about one message: its publish was nacked, returned, or could not be sent. */
export class MessageError extends ChannelError {}

/** What the broker said about a declaration it refused. */
export interface TopologyConflict {
  /** `exchange` or `queue` */
  kind: 'exchange' | 'queue' | 'binding'
  /** Name of the exchange or queue. */
  name: string
  /** The attribute that differs (`type`, `durable`, `x-queue-type`…), when the broker says. */
  attribute?: string
  /** What we declared, as the broker printed it. */
  declared?: string
  /** What exists on the broker, as it printed it. */
  current?: string
}

/**
 * A declaration the broker refused (406 PRECONDITION_FAILED, 403, 405, 404). Retrying cannot help,
 * so the supervisor stops instead of looping (eventail's defect B24).
 */
export class TopologyError extends ChannelError {
  /** The object and attribute in conflict, when known. */
  readonly conflict: TopologyConflict | undefined

  constructor(code: BusErrorCode, message: string, conflict?: TopologyConflict, options?: AmErrorOptions) {
    super(code, message, options)
    this.conflict = conflict
  }
}

/** A message returned by the broker as unroutable (`basic.return`). */
export interface ReturnedMessage {
  exchange: string
  routingKey: string
  replyCode: number
  replyText: string
  body: Buffer
  properties: import('amqplib').MessageProperties
}

/** A publish that did not reach a queue safely. `returned` is set for `PUBLISH_RETURNED`. */
export class PublishError extends MessageError {
  /** The returned message, for an unroutable `mandatory` publish. */
  readonly returned: ReturnedMessage | undefined

  constructor(code: BusErrorCode, message: string, returned?: ReturnedMessage, options?: AmErrorOptions) {
    super(code, message, options)
    this.returned = returned
  }
}

const INEQUIVALENT =
  /inequivalent arg '([^']+)' for (exchange|queue) '([^']*)' in vhost '[^']*': received (.+?) but current is (.+?)"?$/

/**
 * Turns a channel error raised while declaring `what` into a `TopologyError` when the broker refused
 * the declaration for good; returns undefined for transient errors (connection loss…). For
 * transports (such as `@am/testing`'s in-memory broker) that must refuse declarations exactly as
 * the supervisor does.
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
