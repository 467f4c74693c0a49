// The mailer's delayed retries on the in-memory bus (@am/testing) with fake time: no broker, no wait.
import { startService } from '@am/testing'
import { describe, expect, it } from 'vitest'
import { Mailer } from '../src/mailer.js'

describe('Mailer on the memory bus', () => {
  it('retries a welcome mail after 1 s and 5 s while the gateway is down, then sends it once', async () => {
    await using h = await startService(Mailer, { fakeTime: true })
    h.service.gateway.down = true
    const { outcome, conversationId } = await h.publishEvent('UserSignedUp', { userId: 'u1', email: 'a@example.com' })
    expect(outcome).toBe('retrying')
    await h.clock.advance(1_000) // 2nd attempt: still down
    h.service.gateway.down = false
    await h.clock.advance(4_999)
    expect(h.service.gateway.sent).toEqual([])
    await h.clock.advance(1) // 3rd attempt, 5 s after the 2nd
    const outputs = h.conversation(conversationId)
    expect({
      sent: h.service.gateway.sent,
      events: outputs.events.map((e) => [e.routingKey, e.payload]),
      logs: outputs.logs.map((l) => l.level),
      deadLetters: h.deadLetters.length,
    }).toEqual({
      sent: ['a@example.com: Welcome!'],
      events: [['WelcomeMailSent', { userId: 'u1', attempts: 3 }]],
      logs: ['ALERT', 'ALERT'],
      deadLetters: 0,
    })
  })

  it('gives a receipt command its own, shorter policy and dead-letters it after the last delay', async () => {
    await using h = await startService(Mailer, { fakeTime: true })
    h.service.gateway.down = true
    const pending = h.sendCommand(
      'mailer.SendReceipt',
      { email: 'b@example.com', orderId: 'O-9' },
      { timeoutMs: 2_000 },
    )
    pending.catch(() => undefined)
    await h.waitFor(() => h.logs.length === 1)
    await h.clock.advance(2_500)
    await expect(pending).rejects.toThrow(/no result for mailer.SendReceipt/)
    expect(h.deadLetters.map((d) => [d.queue, d.reason])).toEqual([['mailer.commands', 'rejected']])
    expect(h.logs.find((l) => l.level === 'EMERGENCY')?.shortMessage).toBe(
      'Giving up on mailer.SendReceipt after 3 attempts',
    )
  })
})
