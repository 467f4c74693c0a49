import { TestingError } from './errors.js'

interface Timer {
  id: number
  at: number
  seq: number
  callback: (...args: unknown[]) => void
  args: unknown[]
  interval: number | undefined
  cleared: boolean
}

type Saved = Pick<typeof globalThis, 'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval'>

/**
 * Fake time for the timers of the code under test: once installed, the global `setTimeout`,
 * `clearTimeout`, `setInterval` and `clearInterval` (what `Service.callLater` uses) wait for
 * `advance()`. `Date`, `setImmediate` and `process.nextTick` stay real, and the memory broker keeps
 * its own real timers, so messages keep flowing while time stands still.
 *
 * vitest's `vi.useFakeTimers()` works as well (the broker captured the real timers when it loaded);
 * this clock is for other runners, and `advance()` lets the bus settle after each timer that fires.
 */
export class FakeClock {
  #now = 0
  #seq = 0
  #nextId = 1
  readonly #timers = new Map<number, Timer>()
  #saved: Saved | undefined
  readonly #settle: () => Promise<void>

  /** @internal the harness makes it; `settle` runs after each timer that fires. */
  constructor(settle: () => Promise<void> = async () => {}) {
    this.#settle = settle
  }

  /** Fake milliseconds elapsed since `install`. */
  get now(): number {
    return this.#now
  }

  /** Whether the global timers are the fake ones now. */
  get isInstalled(): boolean {
    return this.#saved !== undefined
  }

  /** Timers waiting to fire. */
  get pending(): number {
    let count = 0
    for (const timer of this.#timers.values()) if (!timer.cleared) count += 1
    return count
  }

  /** Replaces the global timers. Throws when fake timers of this clock are installed already. */
  install(): this {
    if (this.#saved) throw new TestingError('CLOCK_INSTALLED', 'this fake clock is installed already')
    const g = globalThis as unknown as Record<string, unknown>
    this.#saved = {
      setTimeout: globalThis.setTimeout,
      clearTimeout: globalThis.clearTimeout,
      setInterval: globalThis.setInterval,
      clearInterval: globalThis.clearInterval,
    }
    g.setTimeout = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      this.#add(callback, ms, args, false)
    g.setInterval = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      this.#add(callback, ms, args, true)
    g.clearTimeout = (handle: unknown) => this.#clear(handle)
    g.clearInterval = (handle: unknown) => this.#clear(handle)
    return this
  }

  /** Puts the real timers back; timers still pending never fire. Idempotent. */
  uninstall(): void {
    const saved = this.#saved
    if (!saved) return
    Object.assign(globalThis, saved)
    this.#saved = undefined
    this.#timers.clear()
  }

  /**
   * Moves time forward by `ms`, firing the timers that fall due in order (each at its own time),
   * and lets the bus settle after each one: a timer that publishes sees its messages handled before
   * the next timer fires.
   */
  async advance(ms: number): Promise<void> {
    if (!this.#saved) {
      throw new TestingError(
        'CLOCK_NOT_INSTALLED',
        'the fake clock is not installed: start the harness with { fakeTime: true } (or use vi.useFakeTimers())',
      )
    }
    const target = this.#now + Math.max(0, ms)
    for (;;) {
      const next = this.#next(target)
      if (!next) break
      this.#now = Math.max(this.#now, next.at)
      if (next.interval !== undefined) {
        next.at = this.#now + Math.max(1, next.interval)
        next.seq = ++this.#seq
      } else this.#timers.delete(next.id)
      next.callback(...next.args)
      await this.#settle()
    }
    this.#now = target
    await this.#settle()
  }

  /** Fires every timer due now or earlier, then lets the bus settle. */
  async runDue(): Promise<void> {
    await this.advance(0)
  }

  #next(target: number): Timer | undefined {
    let best: Timer | undefined
    for (const timer of this.#timers.values()) {
      if (timer.cleared || timer.at > target) continue
      if (!best || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer
    }
    return best
  }

  #add(callback: (...args: unknown[]) => void, ms: number | undefined, args: unknown[], repeat: boolean): FakeTimeout {
    if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function')
    const delay = Math.max(1, Math.trunc(Number(ms) || 0))
    const timer: Timer = {
      id: this.#nextId++,
      at: this.#now + delay,
      seq: ++this.#seq,
      callback,
      args,
      interval: repeat ? delay : undefined,
      cleared: false,
    }
    this.#timers.set(timer.id, timer)
    return new FakeTimeout(timer.id, () => {
      timer.at = this.#now + delay
      timer.seq = ++this.#seq
      if (timer.cleared) {
        timer.cleared = false
        this.#timers.set(timer.id, timer)
      }
    })
  }

  #clear(handle: unknown): void {
    const id = handle instanceof FakeTimeout ? handle.id : Number(handle)
    const timer = this.#timers.get(id)
    if (!timer) return
    timer.cleared = true
    this.#timers.delete(id)
  }
}

/** What the fake `setTimeout` returns: the shape of Node's `Timeout`. */
class FakeTimeout {
  #ref = true

  constructor(
    readonly id: number,
    private readonly onRefresh: () => void,
  ) {}

  ref(): this {
    this.#ref = true
    return this
  }

  unref(): this {
    this.#ref = false
    return this
  }

  hasRef(): boolean {
    return this.#ref
  }

  refresh(): this {
    this.onRefresh()
    return this
  }

  close(): this {
    clearTimeout(this as unknown as NodeJS.Timeout)
    return this
  }

  [Symbol.toPrimitive](): number {
    return this.id
  }

  [Symbol.dispose](): void {
    this.close()
  }
}
