import { PublishError } from '@am/bus-core'
import { describe, expect, it } from 'vitest'
import type { Sent } from '../src/outputs.js'
import { decideSettlement, isLastAttempt } from '../src/settlement.js'

const confirmed: Sent = { status: 'confirmed' }
const returnedError = new PublishError('PUBLISH_RETURNED', 'returned')
const returned = (outcome: 'ack' | 'requeue' | 'drop' | undefined): Sent => ({
  status: 'returned',
  error: returnedError,
  outcome,
})
const lostError = new PublishError('PUBLISH_CHANNEL_CLOSED', 'lost')
const lost: Sent = { status: 'lost', error: lostError }
const nackedError = new PublishError('PUBLISH_NACKED', 'nacked')
const nacked: Sent = { status: 'nacked', error: nackedError }
const bug = new Error('handler bug')

describe('decideSettlement', () => {
  it('follows the handler outcome when every output is confirmed', () => {
    expect(
      [undefined, 'ack', 'requeue', 'drop', 'other'].map((outcome) =>
        decideSettlement(outcome, undefined, [confirmed, confirmed]),
      ),
    ).toEqual([
      { action: 'ack' },
      { action: 'ack' },
      { action: 'requeue' },
      { action: 'dead-letter', asked: true },
      { action: 'ack' },
    ])
  })

  it('applies the failing-handler policy to a throw, before looking at the outputs', () => {
    expect(decideSettlement(undefined, bug, [lost, nacked])).toEqual({ action: 'fail', error: bug, byHandler: true })
  })

  it('leaves a message whose connection is gone to its redelivery', () => {
    expect([
      decideSettlement('ack', lostError, [confirmed]),
      decideSettlement('ack', undefined, [returned('ack'), lost]),
    ]).toEqual([{ action: 'redelivered' }, { action: 'redelivered' }])
  })

  it('fails the message on an output that failed, whichever the handler outcome; the first bad output wins', () => {
    expect([
      decideSettlement('drop', undefined, [confirmed, nacked, lost]),
      decideSettlement(undefined, undefined, [lost, nacked]),
    ]).toEqual([{ action: 'fail', error: nackedError, byHandler: false }, { action: 'redelivered' }])
  })

  it("lets the first returned output's decision win over the handler's, a thrown returned publish included", () => {
    expect([
      decideSettlement('requeue', undefined, [returned('ack'), returned('drop')]),
      decideSettlement(undefined, undefined, [returned('requeue')]),
      decideSettlement('ack', undefined, [returned(undefined)]),
      decideSettlement(undefined, returnedError, [returned('ack')]),
      decideSettlement(undefined, returnedError, []),
    ]).toEqual([
      { action: 'ack' },
      { action: 'requeue' },
      { action: 'dead-letter', asked: false },
      { action: 'ack' },
      { action: 'dead-letter', asked: false },
    ])
  })
})

describe('isLastAttempt', () => {
  it('gives up on a redelivery, or on a delivery count of 1 or more when the broker counts', () => {
    expect([
      isLastAttempt(false, undefined),
      isLastAttempt(true, undefined),
      isLastAttempt(true, 0),
      isLastAttempt(false, 1),
    ]).toEqual([false, true, false, true])
  })
})
