// The zod-validated welcome service on the in-memory bus (@am/testing): no broker needed.
import { startService } from '@am/testing'
import { describe, expect, it } from 'vitest'
import { Welcome } from '../src/welcome.js'

describe('Welcome on the memory bus', () => {
  it('welcomes a valid sign-up (defaults applied) and publishes the declared, checked welcome.Sent', async () => {
    await using h = await startService(Welcome)
    const { outcome, events } = await h.publishEvent('user.SignedUp', { userId: 'u-1', email: 'ada@example.com' })
    expect(outcome).toBe('acked')
    expect(events.map((e) => [e.routingKey, e.payload])).toEqual([
      ['welcome.Sent', { userId: 'u-1', text: 'Welcome!' }],
    ])
    expect(h.service.welcomed).toEqual(['u-1'])
  })

  it('dead-letters an invalid sign-up with one EMERGENCY naming the fields; the handler never runs', async () => {
    await using h = await startService(Welcome)
    const { outcome, logs, events } = await h.publishEvent('user.SignedUp', { userId: '', email: 'nope', plan: 'gold' })
    expect([outcome, events]).toEqual(['dead-lettered', []])
    expect(logs.map((l) => l.level)).toEqual(['EMERGENCY'])
    expect(logs[0]?.shortMessage).toMatch(
      /^Invalid event user\.SignedUp: userId: .+; email: .+; plan: .+; dead lettering\.$/,
    )
    expect(h.service.welcomed).toEqual([])
  })

  it('answers an invalid welcome.Resend with an error result naming the fields', async () => {
    await using h = await startService(Welcome)
    const bad = await h.sendCommand('welcome.Resend', { user: 'u-1' })
    expect([bad.status, bad.payload]).toEqual([
      'error',
      {
        error: 'invalid_payload',
        message: 'the payload of welcome.Resend does not match its schema',
        issues: [{ path: 'userId', message: expect.any(String) }],
      },
    ])
    const good = await h.sendCommand('welcome.Resend', { userId: 'u-1' })
    expect([good.status, good.payload]).toEqual(['success', { userId: 'u-1', text: 'Welcome!' }])
  })
})
