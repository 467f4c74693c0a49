/** `callLater` timers of a service; all cleared by `stop()`. @internal */
export class Timers {
  readonly #timers = new Set<NodeJS.Timeout>()

  constructor(private readonly onError: (error: Error) => void) {}

  /** Runs `callback` after `delayMs`; its errors go to `onError`. */
  add(delayMs: number, callback: () => unknown): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      void Promise.resolve().then(callback).catch(this.onError)
    }, delayMs)
    this.#timers.add(timer)
    return timer
  }

  cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer)
    this.#timers.delete(timer)
  }

  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }
}

/** Waits that `cancelAll()` ends at once (the nack-retry delays, cancelled by `stop()`). @internal */
export class Delays {
  readonly #running = new Map<NodeJS.Timeout, (elapsed: boolean) => void>()
  #cancelled = false

  /** Resolves true after `ms`, or false once cancelled (at once when already cancelled). */
  wait(ms: number): Promise<boolean> {
    if (this.#cancelled) return Promise.resolve(false)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#running.delete(timer)
        resolve(true)
      }, ms)
      this.#running.set(timer, resolve)
    })
  }

  /** Ends every wait, and every later one, with false. */
  cancelAll(): void {
    this.#cancelled = true
    for (const [timer, resolve] of this.#running) {
      clearTimeout(timer)
      resolve(false)
    }
    this.#running.clear()
  }

  /** The number of waits running (for tests of `stop()`). */
  get size(): number {
    return this.#running.size
  }
}

/** Waits for `work`, at most `ms`; the timer never outlives the wait, even when `work` rejects. @internal */
export async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  try {
    await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}
