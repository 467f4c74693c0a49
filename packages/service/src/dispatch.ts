import { type Delivery, type Logger, PublishError } from '@am/bus-core'
import { type Envelope, isRefusal, type MessageKind, openEnvelope, routingKeyOf } from '@am/protocol'
import type { Batch, BatchHost } from './batch.js'
import type { BusLog } from './bus-log.js'
import { type CommandContext, type ContextHost, deliveryCountOf, HandlingContext } from './context.js'
import { ServiceError } from './errors.js'
import { type AnyHandler, buildHandlerTables, type Handlers, type HandlerTables, type Origin } from './handler-table.js'
import { LoosePublishes } from './loose.js'
import { type InputRecord, type Metrics, nack, now, observeSince } from './metrics.js'
import type { Outputs, Sent } from './outputs.js'
import type { Retry, RetryPlan } from './retry.js'
import { check, formatIssues, invalidPayloadResult, type PayloadIssue } from './schema.js'
import { decideSettlement, isLastAttempt } from './settlement.js'
import type { Tracing } from './tracing.js'

/** The kind counted for a refused message, which has none: its queue's (results come on the commands queue). */
const KIND_OF: Record<Origin, MessageKind> = { events: 'event', commands: 'command', configurations: 'configuration' }

/**
 * The handler that stands for the user's when a command's payload does not match its schema: one
 * ERROR log, and an error result to the reply-to naming the failing paths; the command is then
 * acked once that result is confirmed (settled like any handler's outputs), never retried.
 */
function answerInvalid(rk: string, issues: readonly PayloadIssue[]): AnyHandler {
  return (_payload: unknown, ctx: CommandContext) => {
    ctx.log('ERROR', `Invalid command ${rk}: ${formatIssues(issues)}; returning an error result.`, {
      full: JSON.stringify(issues),
    })
    // Not awaited: how the result ends (returned, nacked) is settled from the context's publishes.
    void ctx.returnError(invalidPayloadResult(rk, issues))
  }
}

/** What a dispatcher is made of. @internal */
export interface DispatcherOptions {
  readonly service: string
  readonly handlers: Handlers<never>
  readonly prefetch: number
  /** Exclusive queues die with their connection: their handlers' outputs always go. */
  readonly exclusiveQueues: boolean
  readonly outputs: Outputs
  readonly busLog: BusLog
  readonly metrics: Metrics | undefined
  readonly logger: Logger | null
  /** Called when a configuration handler returned true: the service is configured. */
  readonly configured: () => void
}

/**
 * The delivery path of a service, from a consumer's delivery to its settlement: decode (open the
 * envelope), find the handler, run it with a context, wait for its publishes and the loose ones,
 * decide (`settlement.ts`) and ack, requeue or dead-letter. Counts the messages in flight for `stop()`.
 * @internal
 */
export class Dispatcher implements ContextHost {
  readonly tables: HandlerTables
  /** The `batch()` entries of the handler table. */
  readonly batches: readonly Batch[]
  readonly outputs: Outputs
  readonly busLog: BusLog
  /** Set at start when tracing is on and `@opentelemetry/api` is installed. */
  tracing: Tracing | undefined
  /** Set at start when some handler has delayed retries. */
  retry: Retry | undefined
  readonly loose = new LoosePublishes()
  /** Messages being handled (a running batch counts as one); `idle()` waits for none. */
  #inFlight = 0
  #whenIdle: (() => void) | undefined
  /** The last connection generation lost: deliveries of it and before can no longer be acked. */
  #lostGeneration = 0

  constructor(private readonly options: DispatcherOptions) {
    this.outputs = options.outputs
    this.busLog = options.busLog
    const { tables, batches } = buildHandlerTables(options.service, options.handlers, this.#batchHost())
    this.tables = tables
    this.batches = batches
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** Tracks a publish made through the service: messages in flight wait for it (eventail's global rule). */
  trackLoose(sent: Promise<Sent>): void {
    if (this.#inFlight > 0) this.loose.track(sent)
  }

  /** Resolves once no message is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.#whenIdle = resolve
    })
  }

  /** A connection was lost: its deliveries can no longer be acked, and leave the batches (the broker redelivers them). */
  connectionLost(generation: number): void {
    if (generation > this.#lostGeneration) this.#lostGeneration = generation
    for (const batched of this.batches) batched.prune()
  }

  isConnectionGone(delivery: Delivery): boolean {
    return delivery.generation <= this.#lostGeneration
  }

  // A counter rather than a set of promises: no per-message `finally` chain on the hot path.
  dispatch(delivery: Delivery, origin: Origin): void {
    this.#inFlight += 1
    const tracing = this.tracing
    const handling = tracing
      ? tracing.process(delivery, () => this.#handle(delivery, origin))
      : this.#handle(delivery, origin)
    void handling.then(this.#handled, (error: Error) => {
      try {
        // Only a bug in the framework gets here; keep the message and the process.
        this.options.logger?.error(`message handling failed: ${error.stack ?? error.message}`)
        delivery.nack(!delivery.redelivered)
      } finally {
        this.#handled()
      }
    })
  }

  readonly #handled = (): void => {
    this.#inFlight -= 1
    if (this.#inFlight === 0) this.#whenIdle?.()
  }

  async #handle(delivery: Delivery, origin: Origin): Promise<void> {
    const rk = routingKeyOf(delivery)
    const envelope = openEnvelope(delivery, origin)
    const metrics = this.options.metrics
    if (isRefusal(envelope)) {
      const record = metrics?.received(KIND_OF[origin], rk)
      this.busLog.log('EMERGENCY', envelope.log, { full: envelope.detail, conversationId: envelope.conversationId })
      this.tracing?.recordFailure(new ServiceError('MESSAGE_REFUSED', envelope.log))
      nack(delivery, false, record)
      return
    }
    const record = metrics?.received(envelope.kind, rk)
    const table = envelope.kind === 'result' ? this.tables.results : this.tables[origin]
    const entry = table.find(rk)
    if (!entry) {
      this.busLog.log('EMERGENCY', `No ${envelope.kind} handler for ${rk}; dead lettering.`, {
        full: `subscribed keys: ${table.keys.join(', ') || 'none'}`,
        conversationId: envelope.conversationId,
      })
      this.tracing?.recordFailure(new ServiceError('MESSAGE_REFUSED', `no ${envelope.kind} handler for ${rk}`))
      nack(delivery, false, record)
      return
    }
    let payload = envelope.payload
    let handler = entry.handler
    if (entry.schema !== undefined) {
      // Only entries with a schema pay for it: no await, no allocation on the plain path.
      let checked = check(entry.schema, payload)
      if (checked instanceof Promise) checked = await checked
      if (!checked.ok) {
        this.tracing?.recordFailure(
          new ServiceError('MESSAGE_INVALID', `invalid ${envelope.kind} ${rk}: ${formatIssues(checked.issues)}`),
        )
        if (envelope.kind !== 'command') {
          this.#refuseInvalid(delivery, envelope, rk, checked.issues, record)
          return
        }
        handler = answerInvalid(rk, checked.issues)
      } else payload = checked.value
    }
    // A message of a shared durable queue comes back if its connection dies before the ack: then
    // its handler's outputs are not sent (the redelivery makes them again), which saves a duplicate
    // of each. Exclusive queues die with their connection: their handlers' outputs always go.
    const redeliverable = origin !== 'configurations' && !this.options.exclusiveQueues
    const ctx = new HandlingContext(this, delivery, envelope, rk, record, redeliverable)
    let outcome: unknown
    let failure: unknown
    const finishLoose = this.loose.watch()
    const started = record !== undefined ? now() : 0
    try {
      outcome = await (handler as (p: unknown, c: unknown) => unknown)(payload, ctx)
    } catch (error) {
      failure = error
    }
    if (record !== undefined) observeSince(record.duration, started)
    if (envelope.kind === 'configuration' && failure === undefined && outcome === true) this.options.configured()
    const looseDone = finishLoose()
    const outputs = await Promise.all(ctx.sent)
    if (looseDone) outputs.push(...(await looseDone))
    const settlement = decideSettlement(outcome, failure, outputs)
    switch (settlement.action) {
      case 'redelivered':
        return
      case 'fail':
        if (settlement.byHandler && record !== undefined) record.handlerErrors += 1
        await this.fail(delivery, envelope.conversationId, settlement.error, record)
        return
      default:
        if (ctx.manual) return
        if (settlement.action === 'ack') ctx.ackNow()
        else if (settlement.action === 'requeue') nack(delivery, true, record)
        else {
          if (settlement.asked) {
            this.busLog.log('ERROR', `Dropping ${rk} as its handler asked; dead lettering.`, {
              conversationId: envelope.conversationId,
            })
          }
          nack(delivery, false, record)
        }
    }
  }

  /** An event, result or configuration whose payload does not match its schema: one EMERGENCY, dead-lettered, never retried. */
  #refuseInvalid(
    delivery: Delivery,
    envelope: Envelope,
    rk: string,
    issues: readonly PayloadIssue[],
    record: InputRecord | undefined,
  ): void {
    this.busLog.log('EMERGENCY', `Invalid ${envelope.kind} ${rk}: ${formatIssues(issues)}; dead lettering.`, {
      full: JSON.stringify(issues),
      conversationId: envelope.conversationId,
    })
    nack(delivery, false, record)
  }

  /**
   * Handler failure: ALERT, then the delayed retries when the handler has some (`retry.ts`), else
   * requeue once, then EMERGENCY and dead-letter. The promise (delayed retries only) settles once
   * the message is settled.
   */
  fail(
    delivery: Delivery,
    conversationId: string,
    error: unknown,
    record: InputRecord | undefined,
  ): void | Promise<void> {
    const rk = routingKeyOf(delivery)
    const full = error instanceof Error ? (error.stack ?? error.message) : String(error)
    this.tracing?.recordFailure(error)
    this.busLog.log('ALERT', `Unhandled error while processing message ${rk}`, { full, conversationId })
    const plan = this.retry?.plan(delivery, error)
    if (plan === undefined || plan.action === 'none') this.#requeueOnce(delivery, rk, conversationId, full, record)
    else if (plan.action === 'give-up') {
      const history = plan.history.map((line, index) => `attempt ${index + 1}: ${line}`).join('\n')
      this.busLog.log('EMERGENCY', `Giving up on ${rk} after ${plan.attempts} attempts`, {
        full: `${history}\n\n${full}`,
        conversationId,
      })
      nack(delivery, false, record)
    } else return this.#delay(plan, delivery, rk, conversationId, error, full, record)
  }

  /** Eventail's policy: requeue once, then EMERGENCY and dead-letter. */
  #requeueOnce(
    delivery: Delivery,
    rk: string,
    conversationId: string,
    full: string,
    record: InputRecord | undefined,
  ): void {
    if (isLastAttempt(delivery.redelivered, deliveryCountOf(delivery))) {
      this.busLog.log('EMERGENCY', `Giving up on ${rk}`, { full, conversationId })
      nack(delivery, false, record)
    } else nack(delivery, true, record)
  }

  /**
   * A copy in the wait queue, confirmed, then the ack of the original (counted as requeued): at
   * least once, never lost. A connection gone first leaves the message to its redelivery.
   */
  #delay(
    plan: Extract<RetryPlan, { action: 'wait' }>,
    delivery: Delivery,
    rk: string,
    conversationId: string,
    error: unknown,
    full: string,
    record: InputRecord | undefined,
  ): Promise<void> | undefined {
    const retry = this.retry
    if (!retry || this.isConnectionGone(delivery) || !retry.bus?.isConnected) return undefined
    this.#inFlight += 1
    return retry
      .wait(delivery, plan, error)
      .then(
        () => {
          if (delivery.ack() && record !== undefined) record.requeued += 1
        },
        (failure: unknown) => {
          if (failure instanceof PublishError && failure.code === 'PUBLISH_CHANNEL_CLOSED') return
          const why = failure instanceof Error ? failure.message : String(failure)
          this.busLog.log('ALERT', `Cannot delay the retry of ${rk} in ${plan.queue}: ${why}`, { full, conversationId })
          this.#requeueOnce(delivery, rk, conversationId, full, record)
        },
      )
      .finally(this.#handled)
  }

  /** What the batches of the handler table may call. */
  #batchHost(): BatchHost {
    return {
      service: this.options.service,
      prefetch: this.options.prefetch,
      hold: () => {
        this.#inFlight += 1
        let held = true
        return () => {
          if (!held) return
          held = false
          this.#handled()
        }
      },
      watchLoose: () => this.loose.watch(),
      log: (level, short, options) => this.busLog.log(level, short, options),
      error: (message) => this.options.logger?.error(message),
    }
  }
}
