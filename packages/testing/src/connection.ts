import type { MemoryBroker } from './broker.js'
import type { ConsumerState, Outstanding, Queue } from './queue.js'

/**
 * One connection to the memory broker (what the memory transport opens for a supervisor). Client
 * operations (publishes, acks, nacks, close) are applied in order on later turns of the event loop,
 * as they would be over a socket.
 * @internal
 */
export class BrokerConnection {
  open = true
  readonly consumers = new Map<string, ConsumerState>()
  readonly outstanding = new Map<number, Outstanding>()
  readonly exclusiveQueues = new Set<Queue>()
  /** Called when the broker closes the connection (drop, channel error). */
  onClosed: ((error: Error | undefined) => void) | undefined
  #deliveryTag = 0
  #ops: Array<() => void> = []
  #cancelFlush: (() => void) | undefined
  #inbound: Array<() => void> = []
  #cancelInbound: (() => void) | undefined

  constructor(
    readonly broker: MemoryBroker,
    readonly id: number,
    readonly name: string,
  ) {}

  nextDeliveryTag(): number {
    this.#deliveryTag += 1
    return this.#deliveryTag
  }

  /** Hands a delivery to the client on a later turn, in order (as the socket would). */
  receive(delivery: () => void): void {
    this.#inbound.push(delivery)
    this.#cancelInbound ??= this.broker.later(() => {
      this.#cancelInbound = undefined
      const deliveries = this.#inbound
      this.#inbound = []
      for (const item of deliveries) if (this.open) item()
    })
  }

  /** Queues a client operation; false when the connection is closed. */
  send(op: () => void): boolean {
    if (!this.open) return false
    this.#ops.push(op)
    this.#cancelFlush ??= this.broker.later(() => this.#flush())
    return true
  }

  #flush(): void {
    this.#cancelFlush = undefined
    const ops = this.#ops
    this.#ops = []
    for (const op of ops) {
      if (!this.open) return
      try {
        op()
      } catch (error) {
        // A channel error: the supervisor recycles the connection, as bus-core does.
        this.drop(error as Error)
        return
      }
    }
  }

  cancel(tag: string): void {
    const consumer = this.consumers.get(tag)
    if (!consumer) return
    this.consumers.delete(tag)
    this.broker.cancel(consumer)
  }

  /** The broker cancelled a consumer (its queue was deleted): the supervisor reconnects, as bus-core does. */
  cancelledByBroker(consumer: ConsumerState): void {
    this.consumers.delete(consumer.tag)
    this.drop(undefined)
  }

  /** Graceful close: pending operations first (acks reach the broker before the close). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const sent = this.send(() => {
        this.#end(undefined, false)
        resolve()
      })
      if (!sent) resolve()
    })
  }

  /** Closed at once (network failure, channel error): pending operations are lost. */
  drop(error: Error | undefined): void {
    if (!this.open) return
    this.#ops = []
    this.#cancelFlush?.()
    this.#cancelFlush = undefined
    this.#inbound = []
    this.#cancelInbound?.()
    this.#cancelInbound = undefined
    this.#end(error, true)
  }

  #end(error: Error | undefined, forced: boolean): void {
    if (!this.open) return
    this.open = false
    this.broker.forget(this, forced)
    this.onClosed?.(error)
  }
}
