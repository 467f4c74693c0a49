// The example of README.md "Payload schemas", kept compiling and working (names made unique per run).
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  commandProperties,
  eventProperties,
  type Handlers,
  type InferMessages,
  type Publications,
  Service,
} from '../src/index.js'
import { cleanupQueues, peer, run, send, spy, uniqueName } from './helpers.js'

const schemas = {
  events: {
    'user.SignedUp': z.object({ userId: z.string(), plan: z.enum(['free', 'pro']).default('free') }),
    'welcome.Sent': z.object({ userId: z.string(), text: z.string() }),
  },
  commands: { 'welcome.Resend': z.object({ userId: z.string() }) },
}
// The payload types, from the schemas: handlers AND publishEvent/sendCommand/request are typed.
type Messages = InferMessages<typeof schemas>

class Welcome extends Service<Messages> {
  readonly name: string = uniqueName('welcome')
  protected handlers(): Handlers<Messages> {
    return {
      events: {
        'user.SignedUp': {
          schema: schemas.events['user.SignedUp'],
          handler: (user, ctx) => ctx.publishEvent('welcome.Sent', { userId: user.userId, text: 'Welcome!' }),
        },
      },
      commands: {
        'welcome.Resend': { schema: schemas.commands['welcome.Resend'], handler: (c, ctx) => ctx.returnSuccess(c) },
      },
    }
  }
  // Optional: what the service publishes (a schema, or `true` for none). Completes describe().
  protected override publishes(): Publications<Messages> {
    return { events: { 'welcome.Sent': schemas.events['welcome.Sent'] } }
  }
}

describe('README: payload schemas', () => {
  it('welcomes a valid sign-up and answers an invalid Resend with invalid_payload', async () => {
    const bus = await peer()
    const sent = await spy(bus, 'events', 'welcome.Sent')
    const replyKey = uniqueName('readme-reply')
    const replies = await spy(bus, 'commands', replyKey)
    const welcome = await run((o) => new Welcome(o))
    cleanupQueues(welcome.name)
    await send(bus, 'events', 'user.SignedUp', { userId: 'u-1' }, eventProperties('c'))
    expect(sent.payload(await sent.nth(1))).toEqual({ userId: 'u-1', text: 'Welcome!' })
    await send(bus, 'commands', 'welcome.Resend', {}, commandProperties('c', replyKey, 'k'))
    const reply = await replies.nth(1)
    expect([reply.headers.status, (replies.payload(reply) as { error: string }).error]).toEqual([
      'error',
      'invalid_payload',
    ])
  })
})
