import type { MessageContext } from './context.js'
import { ServiceError } from './errors.js'
import type { LevelName, LogOptions } from './gelf.js'
import type { MessageHandler, Outcome, ServiceMessages, UntypedMessages } from './handler-table.js'
import type { Sent } from './outputs.js'
import { decideSettlement } from './settlement.js'

/** Options of `batch()`. */
export interface BatchOptions {
  /** The callback runs as soon as this many messages are in (an integer ≥ 1; at most `prefetch`). */
  maxEntries: number
  /** The callback runs this long after the first message of the batch came in (ms), full or not. */
  timeoutMs: number
}

/** One message of a batch: its payload and its handling context (publish with it to stay in its conversation). */
export interface BatchEntry<P, M extends ServiceMessages = UntypedMessages> {
  readonly payload: P
  readonly ctx: MessageContext<M>
}

/**
 * Handles a batch. Returning nothing (or `'ack'`) acks every message once every publish made
 * meanwhile is confirmed; `'requeue'` and `'drop'` apply to every message; a throw applies the
 * failing-handler policy to each (requeue once, then dead-letter).
 */
export type BatchCallback<P, M extends ServiceMessages = UntypedMessages> = (
  entries: BatchEntry<P, M>[],
) => Outcome | BatchVoid | Promise<Outcome | BatchVoid>

// biome-ignore lint/suspicious/noConfusingVoidType: callbacks written without a return statement return void
type BatchVoid = void

/** @internal What a batch needs from its service. */
export interface BatchHost {
  readonly service: string
  readonly prefetch: number
  /** Counts a running batch as a message in flight (`stop()` waits for it); call the result once done. */
  hold(): () => void
  /** Starts watching the publishes made through the service; the result waits for them and gives their outcomes. */
  watchLoose(): () => Promise<Sent[]> | undefined
  log(level: LevelName | number, short: string, options?: LogOptions): void
  error(message: string): void
}

/** @internal What a batch needs from a handling context (the service's contexts implement it). */
export interface BatchMember {
  readonly routingKey: string
  readonly conversationId: string
  /** The results of the publishes made through the context, in order. */
  readonly sent: readonly Promise<Sent>[]
  takeAck(): unknown
  /** True when the connection that delivered the message is gone: it will be redelivered. */
  isConnectionLost(): boolean
  ackNow(): void
  nackNow(requeue: boolean): void
  /** The failing-handler policy: requeue once, then dead-letter. */
  failNow(error: unknown, byHandler: boolean): void
}

interface Pending {
  payload: unknown
  ctx: BatchMember
}

const BATCH: unique symbol = Symbol.for('@am/service.batch')

/**
 * A handler-table entry that gathers messages and hands them to `callback` together, when
 * `maxEntries` are in or `timeoutMs` after the first one. Each message is acked on its own
 * (never `multiple`), after the callback returned and every publish it made is confirmed. A service
 * refuses to start when its `prefetch` is below `maxEntries` (`BATCH_PREFETCH_TOO_LOW`). Messages
 * whose connection died while they waited leave the batch (the broker redelivers them); `stop()`
 * runs the callback on what is pending.
 * @example
 * protected handlers(): Handlers {
 *   return {
 *     events: {
 *       PageViewed: batch({ maxEntries: 100, timeoutMs: 200 }, async (entries) => {
 *         await this.store.insertMany(entries.map((e) => e.payload))
 *       }),
 *     },
 *   }
 * }
 */
export function batch<P = unknown, M extends ServiceMessages = UntypedMessages>(
  options: BatchOptions,
  callback: BatchCallback<P, M>,
): MessageHandler<P, M> {
  const { maxEntries, timeoutMs } = options
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new ServiceError('SERVICE_INVALID', `batch maxEntries must be an integer ≥ 1, got ${maxEntries}`)
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new ServiceError('SERVICE_INVALID', `batch timeoutMs must be a finite number ≥ 0, got ${timeoutMs}`)
  }
  const state = new Batch(maxEntries, timeoutMs, callback as BatchCallback<unknown, ServiceMessages>)
  const handler = ((payload: unknown, ctx: MessageContext<M>) => {
    state.push(payload, ctx as unknown as BatchMember)
  }) as MessageHandler<P, M> & { [BATCH]: Batch }
  handler[BATCH] = state
  return handler
}

/** @internal The batch behind a handler made by `batch()`, if it is one. */
export function batchOf(handler: unknown): Batch | undefined {
  return typeof handler === 'function' ? (handler as { [BATCH]?: Batch })[BATCH] : undefined
}

/** @internal The state of one `batch()` entry, bound to one service. */
export class Batch {
  #host: BatchHost | undefined
  #key = ''
  #pending: Pending[] = []
  #timer: NodeJS.Timeout | undefined

  constructor(
    readonly maxEntries: number,
    readonly timeoutMs: number,
    private readonly callback: BatchCallback<unknown, ServiceMessages>,
  ) {}

  /** Binds the batch to the service that consumes `key`; one service per batch. */
  attach(host: BatchHost, key: string): void {
    if (this.#host && this.#host !== host) {
      throw new ServiceError(
        'SERVICE_INVALID',
        `the batch of '${key}' in ${host.service} already belongs to ${this.#host.service}: call batch() in handlers()`,
      )
    }
    if (host.prefetch < this.maxEntries) {
      throw new ServiceError(
        'BATCH_PREFETCH_TOO_LOW',
        `the batch of '${key}' in ${host.service} waits for ${this.maxEntries} messages, but prefetch is ${host.prefetch}: ` +
          `the broker never delivers more unacked messages than prefetch, so the batch could never be full. ` +
          `Raise prefetch to ${this.maxEntries} or more, or lower maxEntries to ${host.prefetch} or less`,
      )
    }
    this.#host = host
    this.#key = key
  }

  push(payload: unknown, ctx: BatchMember): void {
    ctx.takeAck()
    this.prune()
    this.#pending.push({ payload, ctx })
    if (this.#pending.length >= this.maxEntries) void this.flush()
    else this.#timer ??= setTimeout(() => void this.flush(), this.timeoutMs)
  }

  /** Drops the messages whose connection is gone (they are redelivered); called on every disconnection too. */
  prune(): void {
    if (this.#pending.length === 0) return
    this.#pending = this.#pending.filter((entry) => !entry.ctx.isConnectionLost())
    if (this.#pending.length === 0) this.#clearTimer()
  }

  /** Runs the callback on the pending messages now (none: nothing); resolves once they are settled. */
  flush(): Promise<void> {
    this.#clearTimer()
    this.prune()
    const entries = this.#pending
    const host = this.#host
    if (entries.length === 0 || !host) return Promise.resolve()
    this.#pending = []
    const release = host.hold()
    return this.#run(host, entries)
      .catch((error: Error) => {
        // Only a bug in the framework gets here; keep the messages.
        host.error(`batch handling failed: ${error.stack ?? error.message}`)
        for (const entry of entries) entry.ctx.nackNow(true)
      })
      .finally(release)
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #run(host: BatchHost, entries: Pending[]): Promise<void> {
    const loose = host.watchLoose()
    let outcome: unknown
    let failure: unknown
    try {
      outcome = await this.callback(
        entries.map((entry) => ({ payload: entry.payload, ctx: entry.ctx as unknown as MessageContext })),
      )
    } catch (error) {
      failure = error
    }
    const outputs = await Promise.all(entries.flatMap((entry) => entry.ctx.sent))
    const looseDone = loose()
    if (looseDone) outputs.push(...(await looseDone))
    const settlement = decideSettlement(outcome, failure, outputs)
    switch (settlement.action) {
      case 'redelivered':
        return
      case 'fail':
        for (const entry of entries) entry.ctx.failNow(settlement.error, settlement.byHandler)
        return
      case 'ack':
        for (const entry of entries) entry.ctx.ackNow()
        return
      case 'requeue':
        for (const entry of entries) entry.ctx.nackNow(true)
        return
      case 'dead-letter':
        if (settlement.asked) {
          host.log('ERROR', `Dropping a batch of ${entries.length} ${this.#key} as its callback asked; dead lettering.`)
        }
        for (const entry of entries) entry.ctx.nackNow(false)
    }
  }
}
