import type { Logger } from './logger.js'
import type { Timers, TransportChannel } from './transport.js'

const OUTSTANDING = 0
const ACKED = 1

/**
 * Acknowledgement bookkeeping of one consuming channel for one connection generation.
 * Acks requested in the same turn of the event loop are coalesced: the contiguous run of finished
 * deliveries at the low end goes out as one `basic.ack multiple`, the others one by one. This is
 * safe because every delivery of the channel goes through here: a multiple ack never covers a
 * delivery still being handled, nor one of another channel or generation (eventail's B11, docs/eventail-defects.md).
 * @internal
 */
export class AckTracker {
  private readonly pending = new Map<number, number>()
  /** Entries of `pending` marked ACKED, not yet sent: `flush` stops looking once it sent them all. */
  private acked = 0
  private scheduled = false
  private isClosed = false

  constructor(
    private readonly channel: Pick<TransportChannel, 'ack' | 'nack'>,
    readonly generation: number,
    private readonly logger: Logger,
    private readonly timers: Pick<Timers, 'defer'>,
  ) {}

  /** Deliveries not yet settled. */
  get size(): number {
    return this.pending.size
  }

  get closed(): boolean {
    return this.isClosed
  }

  track(tag: number): void {
    this.pending.set(tag, OUTSTANDING)
  }

  /** Queues an ack; false (and no frame) for a settled tag or a closed channel. */
  ack(tag: number): boolean {
    if (!this.accepts(tag, 'ack')) return false
    this.pending.set(tag, ACKED)
    this.acked += 1
    if (!this.scheduled) {
      this.scheduled = true
      this.timers.defer(this.flush)
    }
    return true
  }

  /** Sends a nack at once; false (and no frame) for a settled tag or a closed channel. */
  nack(tag: number, requeue: boolean): boolean {
    if (!this.accepts(tag, 'nack')) return false
    this.pending.delete(tag)
    return this.send(() => this.channel.nack(tag, false, requeue))
  }

  /** Sends the queued acks now. */
  readonly flush = (): void => {
    this.scheduled = false
    if (this.isClosed) return
    let last = -1
    let run = 0
    for (const [tag, state] of this.pending) {
      if (state !== ACKED) break
      last = tag
      run += 1
      this.pending.delete(tag)
    }
    this.acked -= run
    if (run > 0) this.send(() => this.channel.ack(last, run > 1))
    // The others, past a delivery still being handled: only as far as the last of them, not
    // through every delivery in flight (up to the prefetch) at each flush.
    if (this.acked === 0) return
    for (const [tag, state] of this.pending) {
      if (state !== ACKED) continue
      this.pending.delete(tag)
      this.acked -= 1
      if (!this.send(() => this.channel.ack(tag, false)) || this.acked === 0) break
    }
  }

  /** The channel is gone: its tags mean nothing any more. */
  close(): void {
    this.isClosed = true
    this.pending.clear()
    this.acked = 0
  }

  // The channel may be closing before its 'close' event reached us: the transport then throws.
  private send(frame: () => void): boolean {
    try {
      frame()
      return true
    } catch (error) {
      this.logger.debug(`acknowledgement not sent, the channel is closing: ${(error as Error).message}`)
      this.close()
      return false
    }
  }

  private accepts(tag: number, what: string): boolean {
    if (this.isClosed) {
      this.logger.debug(`ignored ${what} of delivery ${tag}: its channel (connection #${this.generation}) is gone`)
      return false
    }
    if (this.pending.get(tag) !== OUTSTANDING) {
      this.logger.debug(`ignored ${what} of delivery ${tag}: already settled`)
      return false
    }
    return true
  }
}
