// Payload schemas under the harness: a validation failure is an outcome like any other.
import { type Handlers, type InferMessages, Service } from '@am/service'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { startService } from '../src/index.js'

const schemas = {
  events: { 'user.SignedUp': z.object({ userId: z.string() }) },
  commands: { 'welcome.Send': z.object({ userId: z.string(), text: z.string().min(1) }) },
}
type Messages = InferMessages<typeof schemas>

class Welcome extends Service<Messages> {
  readonly name = 'welcome'
  readonly welcomed: string[] = []

  protected handlers(): Handlers<Messages> {
    return {
      events: {
        'user.SignedUp': { schema: schemas.events['user.SignedUp'], handler: (p) => void this.welcomed.push(p.userId) },
      },
      commands: {
        'welcome.Send': {
          schema: schemas.commands['welcome.Send'],
          handler: (p, ctx) => ctx.returnSuccess({ to: p.userId }),
        },
      },
    }
  }
}

describe('payload schemas on the memory bus', () => {
  it('reports an invalid event as dead-lettered, with its EMERGENCY log, and a valid one as acked', async () => {
    await using h = await startService(Welcome)
    const bad = await h.publishEvent('user.SignedUp', { user: 1 })
    expect(bad.outcome).toBe('dead-lettered')
    expect(bad.deadLetters.map((d) => d.routingKey)).toEqual(['user.SignedUp'])
    expect(bad.logs.map((l) => [l.level, l.shortMessage])).toEqual([
      ['EMERGENCY', expect.stringMatching(/^Invalid event user\.SignedUp: userId: .+; dead lettering\.$/)],
    ])
    const good = await h.publishEvent('user.SignedUp', { userId: 'u1' })
    expect(good.outcome).toBe('acked')
    expect(h.service.welcomed).toEqual(['u1'])
  })

  it('gives an invalid command its error result naming the paths, with one ERROR log', async () => {
    await using h = await startService(Welcome)
    const result = await h.sendCommand('welcome.Send', { userId: 'u1', text: '' })
    expect(result.status).toBe('error')
    expect(result.payload).toEqual({
      error: 'invalid_payload',
      message: 'the payload of welcome.Send does not match its schema',
      issues: [{ path: 'text', message: expect.any(String) }],
    })
    expect(result.outputs.logs.map((l) => l.level)).toEqual(['ERROR'])
    expect(result.outputs.deadLetters).toEqual([])
    const ok = await h.sendCommand('welcome.Send', { userId: 'u1', text: 'hi' })
    expect([ok.status, ok.payload]).toEqual(['success', { to: 'u1' }])
  })
})
