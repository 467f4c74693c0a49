import type { Sent } from './outputs.js'

/** A loose publish and, once settled, its result. */
interface Entry {
  readonly number: number
  result: Sent | undefined
}

const NONE: readonly Entry[] = []

/**
 * The publishes made through the service itself (not a handling context) while messages are
 * handled. As in eventail, every message handled meanwhile waits for them before it is settled.
 * @internal
 */
export class LoosePublishes {
  /** Unsettled publishes, by number (the map keeps insertion order: its first key is the oldest). */
  readonly #pending = new Map<number, Entry>()
  #count = 0
  /** Waiting for every publish numbered up to `upTo`, in `upTo` order. */
  readonly #waiters: Array<{ upTo: number; resolve: () => void }> = []

  track(sent: Promise<Sent>): void {
    this.#count += 1
    const entry: Entry = { number: this.#count, result: undefined }
    this.#pending.set(entry.number, entry)
    void sent.then((result) => this.#settled(entry, result))
  }

  /**
   * Starts watching: the returned function, called once the handling is over, resolves with the
   * results of every publish unsettled at the start or at its call; it returns undefined when there
   * were none (the common case: no promise).
   */
  watch(): () => Promise<Sent[]> | undefined {
    if (this.#pending.size === 0) return this.#finishAfter
    const before = [...this.#pending.values()]
    return () => this.#finish(before)
  }

  readonly #finishAfter = (): Promise<Sent[]> | undefined => (this.#pending.size > 0 ? this.#finish(NONE) : undefined)

  async #finish(before: readonly Entry[]): Promise<Sent[]> {
    const after = this.#snapshot()
    // Every publish unsettled now or at the start, i.e. numbered up to the last one.
    if (after.length > 0) {
      await new Promise<void>((resolve) => this.#waiters.push({ upTo: this.#count, resolve }))
    }
    return [...before, ...after].map((entry) => entry.result as Sent)
  }

  #snapshot(): readonly Entry[] {
    return this.#pending.size > 0 ? [...this.#pending.values()] : NONE
  }

  #settled(entry: Entry, result: Sent): void {
    entry.result = result
    this.#pending.delete(entry.number)
    const oldest = this.#pending.keys().next().value ?? Number.POSITIVE_INFINITY
    const waiters = this.#waiters
    while (waiters.length > 0 && (waiters[0] as { upTo: number }).upTo < oldest) waiters.shift()?.resolve()
  }
}
