import { PublishError } from '@am/bus-core'
import type { Outcome } from './handler-table.js'
import type { Sent } from './outputs.js'

/**
 * What becomes of a handled message: acked, requeued, dead-lettered (`asked`: by the handler's
 * `'drop'`, which is logged; otherwise by `handleReturnedMessage`), nothing because the broker
 * redelivers it anyway (its connection died before the ack), or the failing-handler policy
 * (`fail`: requeue once, then dead-letter).
 * @internal
 */
export type Settlement =
  | { readonly action: 'ack' }
  | { readonly action: 'requeue' }
  | { readonly action: 'dead-letter'; readonly asked: boolean }
  | { readonly action: 'redelivered' }
  | { readonly action: 'fail'; readonly error: unknown; readonly byHandler: boolean }

const ACK: Settlement = { action: 'ack' }
const REQUEUE: Settlement = { action: 'requeue' }
const REDELIVERED: Settlement = { action: 'redelivered' }

/**
 * Decides the fate of a handled message (or of a batch) from the handler's return value, what it
 * threw (`undefined`: nothing) and the results of the publishes it made, in the order they were
 * made. Pure: used by the dispatch of single messages and by `batch()`.
 * @internal
 */
export function decideSettlement(outcome: unknown, failure: unknown, outputs: readonly Sent[]): Settlement {
  if (failure !== undefined) {
    if (failure instanceof PublishError && failure.code === 'PUBLISH_CHANNEL_CLOSED') return REDELIVERED
    // A handler that awaited its own publish sees that publish's failure: not a handler bug.
    if (!(failure instanceof PublishError && failure.code === 'PUBLISH_RETURNED')) {
      return { action: 'fail', error: failure, byHandler: true }
    }
  }
  let returned: Outcome | null = null
  for (const sent of outputs) {
    if (sent.status === 'confirmed') continue
    if (sent.status === 'returned') returned ??= sent.outcome
    else if (sent.status === 'lost') return REDELIVERED
    else return { action: 'fail', error: sent.error, byHandler: false }
  }
  // handleReturnedMessage decided (and logged): its outcome wins over the handler's. A returned
  // publish thrown by the handler but made elsewhere has no decision: dead-lettered.
  if (returned !== null) return byOutcome(returned ?? 'drop', false)
  if (failure !== undefined) return { action: 'dead-letter', asked: false }
  return byOutcome(outcome, true)
}

function byOutcome(outcome: unknown, asked: boolean): Settlement {
  if (outcome === 'requeue') return REQUEUE
  if (outcome === 'drop') return { action: 'dead-letter', asked }
  return ACK
}

/** The failing-handler policy: true when the message was delivered before (requeued once already). @internal */
export function isLastAttempt(redelivered: boolean, deliveryCount: number | undefined): boolean {
  return deliveryCount !== undefined ? deliveryCount >= 1 : redelivered
}
