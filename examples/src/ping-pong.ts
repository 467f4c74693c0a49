// Ping and Pong, after eventail's first example: a data-processing service that serves commands
// (pong) and a service that sends them and handles their results (ping). The wire format is
// eventail's, so a Python service speaking these payloads can take either side.
import { randomUUID } from 'node:crypto'
import { type Handlers, type Publications, Service, type ServiceOptions } from '@am/service'

/** `pong.Echo`: send this message back. */
export interface EchoCommand {
  message: string
}

/** `pong.Fail`: answer with an error result (an expected failure, not a crash). */
export interface FailCommand {
  reason: string
}

/** The success result of `pong.Echo`. */
export interface Echoed {
  echo: string
}

/** The error result of `pong.Echo` or `pong.Fail`. */
export interface Refused {
  reason: string
}

/** No messages of that kind. */
type None = Record<never, never>

/** What pong serves: payload types by routing key, checked in its handlers. */
export interface PongMessages {
  events: None
  commands: { 'pong.Echo': EchoCommand; 'pong.Fail': FailCommand }
  results: None
  configurations: None
}

/** What ping sends and the results it awaits on its reply-to key. */
export interface PingMessages {
  events: None
  commands: { 'pong.Echo': EchoCommand; 'pong.Fail': FailCommand }
  results: { 'ping.EchoReturn': Echoed | Refused }
  configurations: None
}

/** The reply-to of ping's commands: pong publishes the results there, ping's queue binds it. */
export const PING_REPLY_TO = 'ping.EchoReturn'

/**
 * The `pong` service: answers `pong.Echo` with `{ echo }` and `pong.Fail` with an error result.
 * Results go to the command's reply-to, in the command's conversation, with its correlation id.
 */
export class Pong extends Service<PongMessages> {
  readonly name = 'pong'

  protected handlers(): Handlers<PongMessages> {
    return {
      commands: {
        'pong.Echo': async (payload, ctx) => {
          // Payloads come from other teams' code: an invalid one is an expected error, answered as such.
          if (typeof payload?.message !== 'string') {
            await ctx.returnError({ reason: 'message must be a string' } satisfies Refused)
            return
          }
          await ctx.returnSuccess({ echo: payload.message } satisfies Echoed)
        },
        'pong.Fail': (payload, ctx) => ctx.returnError({ reason: String(payload?.reason) } satisfies Refused),
      },
    }
  }
}

/** Options of `Ping`. */
export interface PingOptions extends ServiceOptions {
  /**
   * Time between two commands, in ms.
   * @default 1000
   */
  intervalMs?: number
  /**
   * Every n-th command is a `pong.Fail`, to show the error path; 0 never sends one.
   * @default 5
   */
  failEvery?: number
}

/** One "I'm fine!" health check every this many commands, starting with the first. */
const HEALTH_EVERY = 5

/**
 * The `ping` service: once ready, sends a `pong.Echo` command every second (each in a new
 * conversation) with reply-to `ping.EchoReturn`, handles the results, and logs NOTICE "I'm fine!"
 * now and then, as eventail services do for their health checks.
 */
export class Ping extends Service<PingMessages> {
  readonly name = 'ping'
  /** Results received so far, by status. */
  readonly received = { success: 0, error: 0 }
  /** The last echo received. */
  lastEcho: string | undefined
  /** The reason of the last error result received. */
  lastRefusal: string | undefined
  readonly #intervalMs: number
  readonly #failEvery: number
  #sent = 0
  #ticking = false

  constructor(options: PingOptions) {
    super(options)
    this.#intervalMs = options.intervalMs ?? 1_000
    this.#failEvery = options.failEvery ?? 5
  }

  protected handlers(): Handlers<PingMessages> {
    return {
      results: {
        [PING_REPLY_TO]: (payload, ctx) => {
          if (ctx.status === 'success' && 'echo' in payload) {
            this.received.success += 1
            this.lastEcho = payload.echo
            return
          }
          this.received.error += 1
          this.lastRefusal = 'reason' in payload ? payload.reason : `status ${ctx.status}`
          ctx.log('WARNING', `pong refused: ${this.lastRefusal}`)
        },
      },
    }
  }

  /** What it publishes, for its AsyncAPI document. */
  protected override publishes(): Publications<PingMessages> {
    return { commands: { 'pong.Echo': true } }
  }

  protected override onReady(): void {
    // onReady runs again after each reconnection; timers survive it, so keep a single loop.
    if (this.#ticking) return
    this.#ticking = true
    this.callLater(this.#intervalMs, () => this.#tick())
  }

  async #tick(): Promise<void> {
    // Schedule the next one first: a slow confirm must not slow the pace down.
    this.callLater(this.#intervalMs, () => this.#tick())
    this.#sent += 1
    const n = this.#sent
    if (n % HEALTH_EVERY === 1) this.log('NOTICE', "I'm fine!")
    // A command is not an initial event, but ping has no event to continue: each ping is a conversation.
    const options = { conversationId: randomUUID(), replyTo: PING_REPLY_TO }
    const fail = this.#failEvery > 0 && n % this.#failEvery === 0
    try {
      if (fail) await this.sendCommand('pong.Fail', { reason: `ping #${n} asked for an error` }, options)
      else await this.sendCommand('pong.Echo', { message: `ping #${n}` }, options)
    } catch (error) {
      // Commands are mandatory: without a pong running, the broker returns them.
      this.log('WARNING', `ping #${n} not delivered: ${(error as Error).message}`, options)
    }
  }
}
