/** One copy of an output downstream. */
export interface Copy {
  /** The service connection generation whose delivery of the input made this output. */
  gen: number
  /** The downstream consumer's connection generation that received it. */
  sinkGen: number
  /** The broker's redelivered flag on this copy (the consumer downstream had it before). */
  redelivered: boolean
}

/**
 * The accounting of one scenario. Every test message carries a unique id; the ledger records
 * which ids the broker confirmed to the publisher, which ones the service received and emitted
 * (its outputs, confirmed), and which ones reached the consumer downstream.
 * Lost = confirmed but never delivered downstream.
 */
export class Ledger {
  /** Publishes the broker confirmed (ack). */
  readonly confirmed = new Set<string>()
  /** Publish attempts rejected to the caller, by error code (an id may be retried and confirmed later). */
  readonly rejections = new Map<string, number>()
  /** Ids whose publish was rejected and never confirmed (reported to the caller, not lost). */
  readonly rejected = new Set<string>()
  /** Publish attempts rejected to the caller, per id: each may have arrived all the same. */
  readonly rejectedAttempts = new Map<string, number>()
  /** Handler calls per id at the service (more than one: a redelivery). */
  readonly received = new Map<string, number>()
  /** Handler calls per id of a message the broker had not delivered before (redelivered flag unset). */
  readonly receivedFresh = new Map<string, number>()
  /** Outputs the service published and saw confirmed, per id. */
  readonly emitted = new Map<string, number>()
  /** Copies per id that reached the downstream consumer. */
  readonly delivered = new Map<string, number>()
  /** Every copy downstream, per id, in order of arrival. */
  readonly copies = new Map<string, Copy[]>()

  confirm(id: string): void {
    this.confirmed.add(id)
    this.rejected.delete(id)
  }

  reject(id: string, code: string): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1)
    this.rejectedAttempts.set(id, (this.rejectedAttempts.get(id) ?? 0) + 1)
    if (!this.confirmed.has(id)) this.rejected.add(id)
  }

  receive(id: string, redelivered = false): void {
    this.received.set(id, (this.received.get(id) ?? 0) + 1)
    if (!redelivered) this.receivedFresh.set(id, (this.receivedFresh.get(id) ?? 0) + 1)
  }

  emit(id: string): void {
    this.emitted.set(id, (this.emitted.get(id) ?? 0) + 1)
  }

  deliver(id: string, copy?: Copy): void {
    this.delivered.set(id, (this.delivered.get(id) ?? 0) + 1)
    if (copy) this.copies.set(id, [...(this.copies.get(id) ?? []), copy])
  }

  /** Confirmed but never delivered downstream. */
  get lost(): string[] {
    return [...this.confirmed].filter((id) => !this.delivered.has(id))
  }

  /** Extra copies delivered downstream (at-least-once). */
  get duplicates(): number {
    let extra = 0
    for (const count of this.delivered.values()) extra += count - 1
    return extra
  }

  /** Extra handler calls at the service. */
  get redeliveries(): number {
    let extra = 0
    for (const count of this.received.values()) extra += count - 1
    return extra
  }

  /** Delivered downstream although never published by this scenario (must be none). */
  get strangers(): string[] {
    return [...this.delivered.keys()].filter((id) => !this.confirmed.has(id) && !this.rejected.has(id))
  }

  summary(): Record<string, number> {
    return {
      confirmed: this.confirmed.size,
      rejected: this.rejected.size,
      received: this.received.size,
      redeliveries: this.redeliveries,
      emitted: this.emitted.size,
      delivered: this.delivered.size,
      duplicates: this.duplicates,
      lost: this.lost.length,
    }
  }
}
