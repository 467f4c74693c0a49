import type { Ledger } from './ledger.js'
import type { Loss } from './relay.js'

/** Why a copy downstream may repeat, by what the design allows. */
export type Cause =
  /** Its input was in hand at a connection loss, and its output had gone out before the loss. */
  | 'output out before the loss'
  /** Its input was acked on the lost connection, but the broker redelivered it: the ack was lost with it. */
  | 'ack lost with the connection'
  /** The consumer downstream got the same output again after its own connection or queue moved. */
  | 'sink redelivery'
  /** The producer published the input again after a rejected attempt that had arrived all the same. */
  | 'input republished'

/** Every extra copy downstream, explained by a cause or listed as unexplained, against the bound. */
export interface DuplicateAccount {
  duplicates: number
  causes: Partial<Record<Cause, number>>
  /** Extra copies no cause explains, as `id: gen of each copy`. */
  unexplained: string[]
  /**
   * What the design allows: per service connection lost, the deliveries in hand whose output had
   * gone out, plus the acks that may have been on the wire (prefetch − in hand: the broker never
   * has more than `prefetch` unacked); per downstream connection lost, its prefetch; one per
   * publish attempt of the producer that was rejected and repeated.
   */
  bound: number
  /** In hand at each loss of the service's connection. */
  inHand: number[]
  /** Of those, outputs already out. */
  outputsOut: number[]
}

/** Options of `accountDuplicates`. */
export interface AccountOptions {
  /** The service's prefetch. */
  prefetch: number
  /** Connections of the consumer downstream lost during the scenario. */
  sinkLosses?: number
  /** The downstream consumer's prefetch. */
  sinkPrefetch?: number
}

/** Explains each extra copy downstream by a cause the design allows, and derives the bound. */
export function accountDuplicates(ledger: Ledger, losses: readonly Loss[], options: AccountOptions): DuplicateAccount {
  const { prefetch, sinkLosses = 0, sinkPrefetch = 0 } = options
  const causes: Partial<Record<Cause, number>> = {}
  const unexplained: string[] = []
  const count = (cause: Cause): void => {
    causes[cause] = (causes[cause] ?? 0) + 1
  }
  let duplicates = 0
  for (const [id, copies] of ledger.copies) {
    for (const [i, copy] of copies.entries()) {
      if (i === 0) continue
      duplicates += 1
      const earlier = copies.slice(0, i)
      const cause = ((): Cause | undefined => {
        if (sinkLosses > 0 && copy.redelivered && earlier.some((c) => c.gen === copy.gen)) return 'sink redelivery'
        const before = earlier.filter((c) => c.gen < copy.gen)
        const lost = losses.filter((l) => before.some((c) => c.gen <= l.generation) && l.generation < copy.gen)
        if (lost.some((l) => l.outputsOut.has(id))) return 'output out before the loss'
        if (lost.some((l) => l.acked.has(id))) return 'ack lost with the connection'
        if ((ledger.rejectedAttempts.get(id) ?? 0) > 0 && (ledger.receivedFresh.get(id) ?? 0) >= 2) {
          return 'input republished'
        }
        return undefined
      })()
      if (cause) count(cause)
      else unexplained.push(`${id}: copies from connections ${copies.map((c) => `#${c.gen}`).join(', ')}`)
    }
  }
  let republished = 0
  for (const n of ledger.rejectedAttempts.values()) republished += n
  const bound =
    losses.reduce((sum, l) => sum + l.outputsOut.size + Math.max(0, prefetch - l.inHand), 0) +
    sinkLosses * sinkPrefetch +
    republished
  return {
    duplicates,
    causes,
    unexplained,
    bound,
    inHand: losses.map((l) => l.inHand),
    outputsOut: losses.map((l) => l.outputsOut.size),
  }
}

/** The account in a sentence, for the report's notes. */
export function describeAccount(account: DuplicateAccount): string {
  const causes = Object.entries(account.causes).map(([cause, n]) => `${n} ${cause}`)
  return `in hand at each loss ${account.inHand.join(', ') || '—'} (outputs out ${account.outputsOut.join(', ') || '—'}); duplicates ${account.duplicates} ≤ derived bound ${account.bound}; causes: ${causes.join(', ') || 'none'}; unexplained ${account.unexplained.length}`
}
