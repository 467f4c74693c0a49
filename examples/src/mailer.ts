// Delayed retries: a service whose handler depends on something that goes down now and then (a
// mail gateway here). A failed message waits in a wait queue (`mailer.events.retry.<ms>`, then
// `mailer.commands.retry.<ms>` for commands) and comes back after each delay, instead of eventail's
// immediate requeue-once that sends a whole stream to dead_letters while the gateway reboots.
// `node examples/dist/mailer.js` runs it on the broker of AMQP_URL (default
// amqp://guest:***@127.0.0.1:5672/) with a gateway down for its first 3 seconds.
import { randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { redactUrl } from '@am/errors'
import { type Handlers, RETRY_HEADERS, Service, type ServiceOptions } from '@am/service'

/** Event `UserSignedUp`: a user created an account. */
export interface UserSignedUp {
  userId: string
  email: string
}

/** Event `WelcomeMailSent`: the mailer sent the welcome mail. */
export interface WelcomeMailSent {
  userId: string
  attempts: number
}

/** Command `mailer.SendReceipt`: mail a receipt; its result says when it went out. */
export interface SendReceipt {
  email: string
  orderId: string
}

/** The mailer's messages, by routing key. */
export interface MailerMessages {
  events: { UserSignedUp: UserSignedUp; WelcomeMailSent: WelcomeMailSent }
  commands: { 'mailer.SendReceipt': SendReceipt }
  results: Record<never, never>
  configurations: Record<never, never>
}

/** Stands in for an SMTP client: refuses to send while down. */
export class MailGateway {
  /** Mails sent, in order. */
  readonly sent: string[] = []
  down = false

  async send(to: string, subject: string): Promise<void> {
    if (this.down) throw new Error('mail gateway unreachable (ECONNREFUSED)')
    this.sent.push(`${to}: ${subject}`)
  }
}

/** The waits before the 2nd, 3rd and 4th attempt: 1 s, 5 s, 30 s. */
export const MAILER_RETRY_DELAYS_MS = [1_000, 5_000, 30_000]

/**
 * The `mailer` service: sends a welcome mail for each `UserSignedUp` and a receipt for each
 * `mailer.SendReceipt`. While the gateway is down its handlers throw, and each message is retried
 * after 1 s, 5 s and 30 s; the fourth failure dead-letters it with the four errors in one
 * EMERGENCY log. Receipts (commands) get a shorter policy of their own: the caller waits.
 */
export class Mailer extends Service<MailerMessages> {
  readonly name = 'mailer'

  constructor(
    options: ServiceOptions,
    readonly gateway: MailGateway = new MailGateway(),
  ) {
    super({
      retry: {
        delaysMs: MAILER_RETRY_DELAYS_MS,
        handlers: { commands: { 'mailer.SendReceipt': { delaysMs: [500, 2_000] } } },
      },
      ...options,
    })
  }

  protected handlers(): Handlers<MailerMessages> {
    return {
      events: {
        UserSignedUp: async (user, ctx) => {
          await this.gateway.send(user.email, 'Welcome!')
          // The retry header counts the failed attempts before this one.
          const attempts = Number(ctx.headers[RETRY_HEADERS.attempt] ?? 0) + 1
          await ctx.publishEvent('WelcomeMailSent', { userId: user.userId, attempts })
        },
      },
      commands: {
        'mailer.SendReceipt': async (receipt, ctx) => {
          await this.gateway.send(receipt.email, `Receipt for order ${receipt.orderId}`)
          await ctx.returnSuccess({ orderId: receipt.orderId })
        },
      },
    }
  }
}

/** The `accounts` service: publishes sign-ups and consumes nothing. */
export class Accounts extends Service<MailerMessages> {
  readonly name = 'accounts'

  protected handlers(): Handlers<MailerMessages> {
    return {}
  }

  /** Publishes `UserSignedUp` in a new conversation. */
  async signUp(user: UserSignedUp): Promise<void> {
    await this.publishEvent('UserSignedUp', user, { conversationId: randomUUID() })
  }
}

/** Ten sign-ups while the gateway is down for 3 s: every welcome mail goes out, none dead-lettered. */
async function main(): Promise<void> {
  const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/'
  const mailer = new Mailer({ urls: url })
  const accounts = new Accounts({ urls: url })
  await mailer.start()
  await accounts.start()
  process.stdout.write(`Mailer on ${redactUrl(url)}; the gateway is down for 3 s\n`)
  const started = performance.now()
  mailer.gateway.down = true
  setTimeout(() => {
    mailer.gateway.down = false
  }, 3_000)
  for (let i = 1; i <= 10; i++) await accounts.signUp({ userId: `u${i}`, email: `user${i}@example.com` })
  while (mailer.gateway.sent.length < 10) await new Promise((resolve) => setTimeout(resolve, 50))
  process.stdout.write(
    `${mailer.gateway.sent.length} welcome mails sent after ${Math.round(performance.now() - started)} ms\n`,
  )
  await accounts.stop()
  await mailer.stop()
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    process.stderr.write(`${redactUrl(error.message)}\n`)
    process.exitCode = 1
  })
}
