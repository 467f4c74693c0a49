// A configuration phase: a service that needs configuration from the bus before it handles
// business messages, and the service that provides it. Configuration messages are broadcast: every
// service bound to the key gets its own copy (on an exclusive queue), whatever its instance.
import { type Handlers, Service, type ServiceOptions } from '@am/service'
import type { OrderRelayed } from './relay.js'

/** Configuration `EchoMessagesDefined`: the messages the speaker may say. */
export interface EchoMessagesDefined {
  messages: string[]
}

/** Configuration messages, and the event the speaker reacts to. */
export interface SpeakerMessages {
  events: { OrderRelayed: OrderRelayed }
  commands: Record<never, never>
  results: Record<never, never>
  configurations: { EchoMessagesRequested: Record<string, never>; EchoMessagesDefined: EchoMessagesDefined }
}

/**
 * The `speaker` service: starts unconfigured and asks for its messages with `EchoMessagesRequested`.
 * Meanwhile `OrderRelayed` events wait in its queue; once `EchoMessagesDefined` gives it messages,
 * it consumes them and logs a thank-you for each, in the order's conversation.
 */
export class Speaker extends Service<SpeakerMessages> {
  readonly name = 'speaker'
  #messages: string[] = []
  #said = 0

  /** The messages it was configured with. */
  get messages(): readonly string[] {
    return this.#messages
  }

  protected handlers(): Handlers<SpeakerMessages> {
    return {
      configurations: {
        // true: configured. Business consumers start after the first true; later messages reconfigure.
        EchoMessagesDefined: (payload) => {
          const messages = Array.isArray(payload?.messages) ? payload.messages.filter((m) => typeof m === 'string') : []
          if (messages.length === 0) return false
          this.#messages = messages
          return true
        },
      },
      events: {
        OrderRelayed: (order, ctx) => {
          const message = this.#messages[this.#said++ % this.#messages.length]
          ctx.log('INFO', `${message} (order ${order.orderId})`)
        },
      },
    }
  }

  /** Called at every connection until configured: ask whoever knows. */
  protected override onUnconfigured(): Promise<void> {
    return this.publishConfiguration('EchoMessagesRequested', {})
  }

  protected override onReady(): void {
    this.log('INFO', `configured: ${this.#messages.join(' | ')}`)
  }
}

/** Options of `Configurator`. */
export interface ConfiguratorOptions extends ServiceOptions {
  /**
   * What `EchoMessagesDefined` carries.
   * @default ['Thank you!', 'Merci !', 'Danke!']
   */
  messages?: string[]
}

/**
 * The `configurator` service: publishes `EchoMessagesDefined` when it starts, for the services
 * already waiting, and again for each `EchoMessagesRequested`, for those that start later.
 */
export class Configurator extends Service<SpeakerMessages> {
  readonly name = 'configurator'
  readonly #messages: string[]

  constructor(options: ConfiguratorOptions) {
    super(options)
    this.#messages = options.messages ?? ['Thank you!', 'Merci !', 'Danke!']
  }

  protected handlers(): Handlers<SpeakerMessages> {
    return {
      configurations: {
        EchoMessagesRequested: async () => {
          await this.#announce()
          // The configurator itself needs no configuration: the first request makes it ready.
          return true
        },
      },
    }
  }

  /** Called at every connection: a service with configuration handlers starts unconfigured. */
  protected override onUnconfigured(): Promise<void> {
    return this.#announce()
  }

  #announce(): Promise<void> {
    return this.publishConfiguration('EchoMessagesDefined', { messages: this.#messages })
  }
}
