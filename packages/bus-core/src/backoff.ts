/** How reconnection delays grow. */
export interface BackoffOptions {
  /**
   * Delay before the first retry after a connection is lost, in ms.
   * @default 100
   */
  initialDelayMs?: number
  /**
   * Largest delay between two attempts, in ms.
   * @default 30000
   */
  maxDelayMs?: number
  /**
   * Growth factor from one attempt to the next.
   * @default 2
   */
  factor?: number
  /**
   * Random share taken off each delay (0–1), so that many instances do not retry in step.
   * @default 0.5
   */
  jitter?: number
  /**
   * A connection that stayed up this long resets the delays to `initialDelayMs`, in ms. Shorter
   * lives count as one flapping streak (a broker that accepts and drops at once is not hammered);
   * longer ones, such as connections closed one after the other in a rolling restart, do not.
   * @default 1000
   */
  resetAfterMs?: number
}

/** Capped exponential backoff with jitter. @internal */
export class Backoff {
  readonly resetAfterMs: number
  private attempt = 0
  private readonly initial: number
  private readonly max: number
  private readonly factor: number
  private readonly jitter: number

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.initial = options.initialDelayMs ?? 100
    this.max = options.maxDelayMs ?? 30_000
    this.factor = options.factor ?? 2
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5))
    this.resetAfterMs = options.resetAfterMs ?? 1_000
  }

  /** The number of delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt
  }

  /** The next delay in ms: `initial × factor^n`, capped, minus up to `jitter` of it. */
  next(): number {
    const base = Math.min(this.max, this.initial * this.factor ** this.attempt)
    this.attempt += 1
    return Math.round(base * (1 - this.jitter * this.random()))
  }

  reset(): void {
    this.attempt = 0
  }
}
