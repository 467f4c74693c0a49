import type { Sent } from './outputs.js'

/** A loose publish; `settledAt` is the settlement count once it settled (0 before). */
interface Entry {
  readonly number: number
  result: Sent | undefined
  settledAt: number
}

/** Past this many kept failures, the oldest are forgotten (a watch that never finished would keep them all). */
const MAX_FAILURES = 10_000

const byNumber = (a: Entry, b: Entry): number => a.number - b.number

/**
 * The publishes made through the service itself (not a handling context) while messages are
 * handled. As in eventail, every message handled meanwhile waits for them before it is settled.
 *
 * A watch needs the results of the publishes unsettled at its start or at its finish. Publishes
 * are numbered in order and settlements counted, so a watch keeps two pairs of numbers rather than
 * a copy of the unsettled ones, and only the publishes that did not end confirmed are kept (while
 * a watch is open), since a confirmed one changes no settlement.
 * @internal
 */
export class LoosePublishes {
  /** Unsettled publishes, by number (the map keeps insertion order: its first key is the oldest). */
  readonly #pending = new Map<number, Entry>()
  #count = 0
  #settlements = 0
  /** Settled publishes that did not end confirmed, in settlement order, while a watch is open. */
  #failures: Entry[] = []
  /** Open watches: id → settlement count at their start (non-decreasing in insertion order). */
  readonly #open = new Map<number, number>()
  #watches = 0
  /** Waiting for every publish numbered up to `upTo`, in `upTo` order. */
  readonly #waiters: Array<{ upTo: number; resolve: () => void }> = []

  track(sent: Promise<Sent>): void {
    this.#count += 1
    const entry: Entry = { number: this.#count, result: undefined, settledAt: 0 }
    this.#pending.set(entry.number, entry)
    void sent.then((result) => this.#settled(entry, result))
  }

  /**
   * Starts watching: the returned function, called once the handling is over, resolves with the
   * results that did not end confirmed among the publishes unsettled at the start or at its call
   * (in that order, each by number); it returns undefined when there were none unsettled (the
   * common case: no promise).
   */
  watch(): () => Promise<Sent[]> | undefined {
    if (this.#pending.size === 0) return this.#finishAfter
    const upTo = this.#count
    const since = this.#settlements
    const id = this.#openWatch(since)
    return () => this.#finish(id, upTo, since)
  }

  readonly #finishAfter = (): Promise<Sent[]> | undefined =>
    this.#pending.size > 0 ? this.#finish(this.#openWatch(this.#settlements), 0, 0) : undefined

  #openWatch(since: number): number {
    this.#watches += 1
    this.#open.set(this.#watches, since)
    return this.#watches
  }

  async #finish(id: number, upTo: number, since: number): Promise<Sent[]> {
    const last = this.#count
    const now = this.#settlements
    // Every publish unsettled now or at the start, i.e. numbered up to the last one.
    if (this.#pending.size > 0) {
      await new Promise<void>((resolve) => this.#waiters.push({ upTo: last, resolve }))
    }
    let results: Sent[] = []
    const failures = this.#failures
    if (failures.length > 0) {
      const before = failures.filter((e) => e.number <= upTo && e.settledAt > since).sort(byNumber)
      const after = failures.filter((e) => e.number <= last && e.settledAt > now).sort(byNumber)
      results = [...before, ...after].map((entry) => entry.result as Sent)
    }
    this.#open.delete(id)
    this.#prune()
    return results
  }

  /** Forgets the failures no open watch can need: settled at or before the oldest open watch's start. */
  #prune(): void {
    const failures = this.#failures
    if (failures.length === 0) return
    const oldest = this.#open.values().next().value
    if (oldest === undefined) {
      this.#failures = []
      return
    }
    let drop = 0
    while (drop < failures.length && (failures[drop] as Entry).settledAt <= oldest) drop++
    if (drop > 0) failures.splice(0, drop)
  }

  #settled(entry: Entry, result: Sent): void {
    entry.result = result
    this.#settlements += 1
    entry.settledAt = this.#settlements
    if (result.status !== 'confirmed' && this.#open.size > 0) {
      this.#failures.push(entry)
      if (this.#failures.length > MAX_FAILURES) this.#failures.splice(0, this.#failures.length - MAX_FAILURES)
    }
    this.#pending.delete(entry.number)
    const oldest = this.#pending.keys().next().value ?? Number.POSITIVE_INFINITY
    const waiters = this.#waiters
    while (waiters.length > 0 && (waiters[0] as { upTo: number }).upTo < oldest) waiters.shift()?.resolve()
  }
}
