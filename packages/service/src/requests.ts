import { randomUUID } from 'node:crypto'
import { type Delivery, defineTopology, EXCHANGES, type Logger, type SupervisorLike } from '@am/bus-core'
import { isRefusal, openEnvelope } from '@am/protocol'
import { RequestError, ServiceError } from './errors.js'
import type { Outputs } from './outputs.js'
import type { RawBody } from './raw.js'

/** Options of `request`. */
export interface RequestOptions {
  /** Required outside a handler. */
  conversationId: string
  /**
   * @default 30000
   */
  timeoutMs?: number
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

const noop = (): void => {}

/**
 * A service's requests: commands whose result is awaited, matched by correlation id on a private
 * reply queue declared at the first request.
 * @internal
 */
export class Requests {
  readonly #pending = new Map<string, Pending>()
  readonly #replyKey: string
  #replyReady: Promise<void> | undefined
  /** Set once the reply queue is consumed: later requests do not wait a turn for it. */
  #replying = false

  constructor(
    service: string,
    private readonly bus: SupervisorLike,
    private readonly outputs: Outputs,
    private readonly logger: Logger | null,
  ) {
    this.#replyKey = `${service}.reply-${randomUUID().slice(0, 8)}`
  }

  async request(command: string, payload: unknown | RawBody, options: RequestOptions): Promise<unknown> {
    if (!this.#replying) await this.#ensureReplyQueue()
    const replyTo = this.#replyKey
    const correlationId = randomUUID()
    const timeoutMs = options.timeoutMs ?? 30_000
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationId)
        reject(new RequestError('REQUEST_TIMEOUT', `no result for ${command} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(correlationId, { resolve, reject, timer })
    })
    result.catch(noop)
    const sent = await this.outputs.command(command, payload, options.conversationId, {
      replyTo,
      correlationId,
      mandatory: true,
    })
    if (sent.status !== 'confirmed') {
      const pending = this.#pending.get(correlationId)
      if (pending) {
        clearTimeout(pending.timer)
        this.#pending.delete(correlationId)
      }
      if (sent.status === 'returned') {
        throw new RequestError('REQUEST_UNROUTABLE', `nobody consumes ${command}: the command is unroutable`, {
          cause: sent.error,
        })
      }
      throw sent.error
    }
    return result
  }

  /** Rejects the requests still waiting for their result (`SERVICE_STOPPED`). */
  stop(): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer)
      pending.reject(new ServiceError('SERVICE_STOPPED', `the service stopped before the result of request ${id}`))
    }
    this.#pending.clear()
  }

  /** Declares and consumes the reply queue once; a failed attempt is forgotten, so the next request tries again. */
  #ensureReplyQueue(): Promise<void> {
    this.#replyReady ??= this.#declareReplyQueue().then(
      () => {
        this.#replying = true
      },
      (error: unknown) => {
        this.#replyReady = undefined
        throw error
      },
    )
    return this.#replyReady
  }

  async #declareReplyQueue(): Promise<void> {
    await this.bus.extendTopology(
      defineTopology({
        queues: [{ key: 'replies', name: '' }],
        bindings: [{ queue: 'replies', exchange: EXCHANGES.commands, routingKey: this.#replyKey }],
      }),
    )
    await this.bus.consume('replies', (delivery) => this.#onReply(delivery), { prefetch: 100 })
  }

  #onReply(delivery: Delivery): void {
    const envelope = openEnvelope(delivery, 'commands')
    delivery.ack()
    if (isRefusal(envelope) || envelope.kind !== 'result') {
      this.logger?.warn(`ignored a malformed reply on ${delivery.routingKey}`)
      return
    }
    const pending = this.#pending.get(envelope.correlationId)
    if (!pending) {
      this.logger?.debug(`late or unknown result ${envelope.correlationId} ignored`)
      return
    }
    clearTimeout(pending.timer)
    this.#pending.delete(envelope.correlationId)
    if (envelope.status === 'success') pending.resolve(envelope.payload)
    else {
      pending.reject(
        new RequestError('REQUEST_FAILED', `${delivery.routingKey}: error result (status ${envelope.status})`, {
          payload: envelope.payload,
          status: envelope.status,
        }),
      )
    }
  }
}
