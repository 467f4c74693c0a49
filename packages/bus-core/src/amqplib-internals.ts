import type { ChannelModel } from 'amqplib'

/**
 * Everything bus-core knows of amqplib beyond its typed API: private fields it reaches into and
 * error texts it matches. Checked against this version; `test/amqplib-internals.test.ts` fails when
 * the installed amqplib differs, and exercises each item below, so an upgrade starts there.
 * @internal
 */
export const CHECKED_AMQPLIB_VERSION = '2.3.1'

type Muxer = { out?: { cork?: () => void; uncork?: () => void }; _readIncoming?: () => void }

/**
 * amqplib's muxer writes every frame its channels queued to the socket with a write of its own: a
 * syscall, and often a TCP segment the broker reads on its own, per publish and per ack. Corking
 * the socket while the muxer runs sends what one turn of the event loop queued in one write. Same
 * bytes in the same order, same back-pressure. Returns false (and changes nothing) when amqplib's
 * `connection.muxer._readIncoming` / `muxer.out` are not as expected.
 * @internal
 */
export function batchWrites(model: ChannelModel): boolean {
  const muxer = (model.connection as unknown as { muxer?: Muxer }).muxer
  const readIncoming = muxer?._readIncoming
  const out = muxer?.out
  if (!muxer || typeof readIncoming !== 'function' || typeof out?.cork !== 'function' || !out.uncork) return false
  muxer._readIncoming = function batched(this: Muxer): void {
    out.cork?.()
    try {
      readIncoming.call(this)
    } finally {
      out.uncork?.()
    }
  }
  return true
}

/**
 * Drops the connection's socket at once, whatever amqplib is waiting for (a close-ok that never
 * comes). Returns false when amqplib's `connection.stream` is not there.
 * @internal
 */
export function destroySocket(model: ChannelModel): boolean {
  const stream = (model.connection as unknown as { stream?: { destroy?: (error?: Error) => void } }).stream
  if (typeof stream?.destroy !== 'function') return false
  // With an error: amqplib only watches the socket's 'error' and 'end', and without one it would
  // keep its heartbeat timers, and the process, alive for two heartbeat intervals.
  stream.destroy(new Error('connection destroyed'))
  return true
}

/** True for the error amqplib gives a confirm callback when the broker nacked the publish. @internal */
export function isNackedConfirm(error: unknown): boolean {
  return error instanceof Error && error.message === 'message nacked'
}

/**
 * True for the error amqplib throws synchronously when a channel is closing or closed (the
 * operation was not sent). @internal
 */
export function isChannelClosing(error: unknown): boolean {
  return error instanceof Error && error.name === 'IllegalOperationError'
}

/**
 * True for the text amqplib gives when the broker closed the connection at connection.open: a
 * missing virtual host, or one the user may not use (RabbitMQ's own NOT_ALLOWED text is not
 * passed on). @internal
 */
export function isRefusedAtOpen(text: string): boolean {
  return /Expected ConnectionOpenOk; got <ConnectionClose/.test(text)
}
