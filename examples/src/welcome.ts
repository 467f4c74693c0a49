// Payloads checked at run time: the schemas (zod here; valibot, arktype… work the same, through
// Standard Schema) give the handler and publish types AND check every message at the boundary.
// An invalid event is dead-lettered with an EMERGENCY log; an invalid command gets an error result
// naming the failing fields, so its caller learns why. `am-describe examples/dist/welcome.js`
// prints the AsyncAPI document (docs/asyncapi/welcome.yaml).
import { randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { redactUrl } from '@am/errors'
import {
  createPublisher,
  type Handlers,
  type InferMessages,
  type Publications,
  Service,
  type ServiceOptions,
} from '@am/service'
import { z } from 'zod'

/** The schemas of the messages the `welcome` service handles and publishes, by kind and routing key. */
export const welcomeSchemas = {
  events: {
    /** A user signed up (published by another team, maybe in Python). */
    'user.SignedUp': z.object({
      userId: z.string().min(1),
      email: z.email(),
      plan: z.enum(['free', 'pro']).default('free'),
    }),
    /** The welcome message went out. */
    'welcome.Sent': z.object({ userId: z.string(), text: z.string() }),
  },
  commands: {
    /** Send the welcome message again. */
    'welcome.Resend': z.object({ userId: z.string().min(1) }),
  },
}

/** The payload types, inferred from the schemas: no separate interface to keep in step. */
export type WelcomeMessages = InferMessages<typeof welcomeSchemas>

/** Welcomes each new user: `user.SignedUp` → `welcome.Sent`; `welcome.Resend` answers with the text. */
export class Welcome extends Service<WelcomeMessages> {
  readonly name = 'welcome'
  /** The users welcomed, in order. */
  readonly welcomed: string[] = []

  constructor(options: ServiceOptions) {
    // Outputs are checked too, and only the declared keys may be published.
    super({ validateOutputs: true, strictPublications: true, ...options })
  }

  protected handlers(): Handlers<WelcomeMessages> {
    const { events, commands } = welcomeSchemas
    return {
      events: {
        'user.SignedUp': {
          schema: events['user.SignedUp'],
          // `user` is { userId: string; email: string; plan: 'free' | 'pro' }, checked, defaults applied.
          handler: async (user, ctx) => {
            this.welcomed.push(user.userId)
            await ctx.publishEvent('welcome.Sent', { userId: user.userId, text: textFor(user.plan) })
          },
        },
      },
      commands: {
        'welcome.Resend': {
          schema: commands['welcome.Resend'],
          handler: (command, ctx) => ctx.returnSuccess({ userId: command.userId, text: textFor('free') }),
        },
      },
    }
  }

  protected override publishes(): Publications<WelcomeMessages> {
    return { events: { 'welcome.Sent': welcomeSchemas.events['welcome.Sent'] } }
  }
}

function textFor(plan: 'free' | 'pro'): string {
  return plan === 'pro' ? 'Welcome, and thank you for going pro!' : 'Welcome!'
}

/** Starts the service, publishes one valid and one invalid sign-up, and stops. */
async function main(): Promise<void> {
  const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/'
  const welcome = new Welcome({ urls: url })
  await welcome.start()
  process.stdout.write(`welcome on ${redactUrl(url)}\n`)
  const conversationId = randomUUID()
  // Publishing user.SignedUp is not declared by `welcome`: send it as another service would.
  await using users = createPublisher({ name: 'users', urls: url })
  await users.publishEvent('user.SignedUp', { userId: 'u-1', email: 'ada@example.com' }, { conversationId })
  await users.publishEvent('user.SignedUp', { userId: '', email: 'not an email' }, { conversationId })
  while (welcome.welcomed.length < 1) await new Promise((resolve) => setTimeout(resolve, 20))
  process.stdout.write(`welcomed: ${welcome.welcomed.join(', ')}; the invalid sign-up was dead-lettered\n`)
  await welcome.stop()
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    process.stderr.write(`${redactUrl(error.message)}\n`)
    process.exitCode = 1
  })
}
