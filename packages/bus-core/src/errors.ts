import { AmError, type AmErrorOptions } from '@am/errors'
import { isRefusedAtOpen } from './amqplib-internals.js'

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
   * Why a `CONNECTION_FAILED` attempt failed: nothing answered (`unreachable`: no listener, no
   * route, no name, no answer in time), the TLS handshake failed (`tls`: not a TLS port, an
   * untrusted or mismatched certificate), or the broker answered and refused the `login` (user or
   * password) or the `vhost` (missing, or not allowed to the user). After `login` or `vhost`,
   * another attempt cannot succeed until the broker or the URL changes.
   */
  readonly failure: ConnectionFailure | undefined

  constructor(code: BusErrorCode, message: string, options: AmErrorOptions & { failure?: ConnectionFailure } = {}) {
    const { failure, ...rest } = options
    super(code, message, rest)
    this.failure = failure
  }
}

/** What went wrong in a failed connection attempt (`ConnectionError.failure`). */
export type ConnectionFailure = 'unreachable' | 'tls' | 'login' | 'vhost'

/** Where a connection attempt went, for `describeConnectFailure`. @internal */
export interface ConnectTarget {
  /** The URL with its password hidden. */
  safeUrl: string
  hostname: string
  port: number
  username: string
  vhost: string
  tls: boolean
  /** The connect timeout, in ms. */
  timeoutMs: number
}

const UNTRUSTED_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/**
 * Classifies the error amqplib (or the socket) gave for a failed connection attempt and says it
 * in our words, with the one thing to do; amqplib's own text stays in `cause`. A missing virtual
 * host, or one the user may not use, makes the broker close the connection at connection.open,
 * which amqplib reports only as `Expected ConnectionOpenOk`. @internal
 */
export function describeConnectFailure(error: unknown, target: ConnectTarget): ConnectionError {
  const raw = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown } | null)?.code
  const where = `${target.hostname}:${target.port}`
  const make = (failure: ConnectionFailure, message: string): ConnectionError =>
    new ConnectionError('CONNECTION_FAILED', message, { cause: error, failure })
  if (/ACCESS[_-]REFUSED|\b403\b/.test(raw)) {
    return make(
      'login',
      `the broker at ${target.safeUrl} refused the login of user '${target.username}' (ACCESS_REFUSED): fix the user or password in the URL`,
    )
  }
  if (/NOT[_-]ALLOWED|\b530\b/.test(raw) || isRefusedAtOpen(raw)) {
    return make(
      'vhost',
      `the broker at ${target.safeUrl} has no virtual host '${target.vhost}' (or user '${target.username}' may not use it): create it (rabbitmqctl add_vhost ${shellWord(target.vhost)}) or fix the URL`,
    )
  }
  if (typeof code === 'string' && UNTRUSTED_CERT.has(code)) {
    const what =
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `its certificate is not for '${target.hostname}'`
        : `its certificate is not trusted (${raw})`
    return make(
      'tls',
      `TLS with the broker at ${target.safeUrl} failed: ${what} (${code}): give the broker's CA certificate (the tls.ca option, or NODE_EXTRA_CA_CERTS) or fix the host name in the URL`,
    )
  }
  if (
    (typeof code === 'string' && /^ERR_SSL_|^ERR_TLS_/.test(code)) ||
    (target.tls && /SSL routines|socket disconnected before secure TLS/i.test(raw))
  ) {
    const what =
      code === 'ERR_SSL_WRONG_VERSION_NUMBER' ? `${where} does not speak TLS` : `the TLS handshake with ${where} failed`
    return make(
      'tls',
      `TLS with the broker at ${target.safeUrl} failed: ${what} (${typeof code === 'string' ? code : 'TLS'}): use amqp:// for a plain port, or the broker's TLS port (usually 5671)`,
    )
  }
  const advice = 'start RabbitMQ or fix the URL'
  const errno = typeof code === 'string' ? code : /\b(E[A-Z]+)\b/.exec(raw)?.[1]
  const why =
    errno === 'ECONNREFUSED'
      ? `nothing listens on ${where} (ECONNREFUSED)`
      : errno === 'ENOTFOUND' || errno === 'EAI_AGAIN'
        ? `cannot resolve the host name '${target.hostname}' (${errno})`
        : errno === 'ETIMEDOUT'
          ? `no answer from ${where} within ${formatMs(target.timeoutMs)} (ETIMEDOUT)`
          : errno === 'EHOSTUNREACH' || errno === 'ENETUNREACH'
            ? `${where} is unreachable (${errno})`
            : errno === 'ECONNRESET' || errno === 'EPIPE'
              ? `${where} closed the connection during the handshake (${errno})`
              : `${where}: ${raw}`
  return make('unreachable', `no broker at ${target.safeUrl}: ${why}: ${advice}`)
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

/** A word as a POSIX shell reads it (quoted when it has to be). */
function shellWord(word: string): string {
  return /^[\w./,:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
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
 * so the supervisor stops instead of looping (eventail's defect B24, docs/eventail-defects.md).
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
  properties: import('./transport.js').MessageProperties
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
