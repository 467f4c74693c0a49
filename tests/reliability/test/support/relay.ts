import {
  createSupervisor,
  type Delivery,
  type PublishError,
  type Supervisor,
  type SupervisorOptions,
} from '@am/bus-core'
import { decode, encode } from '@am/codec'
import { eventProperties, type Handlers, Service, type ServiceOptions } from '@am/service'
import { waitFor } from '@am/testkit'
import type { Ledger } from './ledger.js'

/** Body of a test message: its unique id, and the connection generation of the service that relayed it. */
export interface Tracer {
  id: string
  seq?: number
  gen?: number
}

/**
 * What the service held of one connection when it was lost, taken when the supervisor reports the
 * loss: deliveries of that connection not yet acked (in hand), and among them those whose handler
 * had already published its output (which may have reached the broker).
 */
export interface Loss {
  generation: number
  /** Delivered on the lost connection, not yet acked. */
  inHand: number
  /** Ids in hand whose output was already published before the loss. */
  outputsOut: Set<string>
  /** Ids acked on the lost connection: if the broker redelivers one, its ack was lost with it. */
  acked: Set<string>
}

interface Handling {
  id: string
  delivery: Delivery
  /** The handler called publishEvent. */
  published: boolean
}

/**
 * A service that relays every `input` event as an `output` event with the same id, awaiting the
 * confirm of its output inside the handler (as a service author would), and tells the ledger.
 * `workMs` stands for the handler's own work (a database call…) before it publishes: with a
 * backlog, the prefetch window is then always full, and a fault always hits messages in hand.
 */
export class Relay extends Service {
  readonly name: string
  /** Handler calls by the connection generation that delivered the message. */
  readonly byGeneration = new Map<number, number>()
  /** One entry per connection lost while the service ran. */
  readonly losses: Loss[] = []
  readonly #handlings = new Map<number, Handling[]>()

  constructor(
    name: string,
    private readonly input: string,
    private readonly output: string,
    private readonly ledger: Ledger,
    options: ServiceOptions,
    private readonly workMs = 0,
  ) {
    super(options)
    this.name = name
  }

  override start(): Promise<void> {
    const started = super.start()
    // The supervisor exists once start() returns; the loss is noted before any handler resumes.
    this.supervisor?.on('disconnected', ({ generation }) => this.#noteLoss(generation))
    return started
  }

  #noteLoss(generation: number): void {
    const handlings = this.#handlings.get(generation) ?? []
    const inHand = handlings.filter((h) => !h.delivery.settled)
    this.losses.push({
      generation,
      inHand: inHand.length,
      outputsOut: new Set(inHand.filter((h) => h.published).map((h) => h.id)),
      acked: new Set(handlings.filter((h) => h.delivery.settled).map((h) => h.id)),
    })
    this.#handlings.delete(generation)
  }

  protected handlers(): Handlers {
    return {
      events: {
        [this.input]: async (payload, ctx) => {
          const { id } = payload as Tracer
          const gen = ctx.delivery.generation
          this.ledger.receive(id, ctx.delivery.redelivered)
          this.byGeneration.set(gen, (this.byGeneration.get(gen) ?? 0) + 1)
          const handling: Handling = { id, delivery: ctx.delivery, published: false }
          const ofGen = this.#handlings.get(gen)
          if (ofGen) ofGen.push(handling)
          else this.#handlings.set(gen, [handling])
          if (this.workMs > 0) await sleep(this.workMs)
          handling.published = true
          await ctx.publishEvent(this.output, { id, gen } satisfies Tracer)
          this.ledger.emit(id)
        },
      },
    }
  }
}

/** Options of `produce`. */
export interface ProduceOptions {
  /** What publishes: a supervisor, or anything with its `publish`. */
  bus: Pick<Supervisor, 'publish'>
  routingKey: string
  count: number
  ledger: Ledger
  /** Prefix of the message ids. */
  prefix: string
  /** Publishes awaiting their confirm at once. @default 200 */
  window?: number
  /** Pace, in messages per second. @default unpaced */
  ratePerSecond?: number
  /** Publish a rejected message again until the broker confirms it. @default true */
  retry?: boolean
  /** Awaited before publishing message number `seq` (holds the stream back until a fault is done). */
  gate?: (seq: number) => Promise<void> | undefined
  /** Past `count`, go on publishing while this holds (until the faults are done). */
  more?: () => boolean
}

/**
 * Publishes `count` events (or more, see `more`) carrying unique ids, as an at-least-once producer: a publish that is
 * rejected (`PUBLISH_CHANNEL_CLOSED`: it may or may not have arrived; `PUBLISH_BUFFER_FULL`…) is
 * published again until confirmed. Resolves once every message is confirmed.
 */
export async function produce(options: ProduceOptions): Promise<void> {
  const { bus, routingKey, count, ledger, prefix, window = 200, ratePerSecond, retry = true, gate, more } = options
  let running = 0
  let wake: (() => void) | undefined
  const started = Date.now()
  const all: Promise<void>[] = []
  const one = async (id: string, body: Buffer): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await bus.publish('events', routingKey, body, { ...eventProperties(`conv-${id}`), messageId: id })
        ledger.confirm(id)
        return
      } catch (error) {
        ledger.reject(id, (error as PublishError).code ?? (error as Error).message)
        if (!retry || attempt > 10_000) return
        await sleep(Math.min(500, 10 * 2 ** Math.min(attempt, 6)))
      }
    }
  }
  for (let seq = 0; seq < count || more?.(); seq++) {
    while (running >= window) await new Promise<void>((resolve) => (wake = resolve))
    await gate?.(seq)
    if (ratePerSecond) {
      const due = started + (seq * 1000) / ratePerSecond
      if (due > Date.now()) await sleep(due - Date.now())
    }
    const id = `${prefix}-${seq}`
    running += 1
    const work = one(id, encode({ id, seq } satisfies Tracer)).finally(() => {
      running -= 1
      wake?.()
    })
    all.push(work)
  }
  await Promise.all(all)
}

/** A consumer downstream of the relay, on its own connection. */
export interface Sink {
  bus: Supervisor
  /** Arrival time of the first output relayed on each service connection generation. */
  firstByGeneration: Map<number, number>
  /** Arrival time of the first copy of each id. */
  arrivals: Map<string, number>
  /** Connections of the consumer downstream lost so far. */
  losses: () => number
  /** The actual name of its queue (a server-named one changes with each connection). */
  queue: () => string
  /** Resolves with the arrival time of the first output relayed on a generation above `gen`. */
  firstAfter(gen: number, timeoutMs?: number): Promise<number>
}

/** Options of `openSink`. */
export interface SinkOptions {
  urls: string | readonly string[]
  /** Routing key of the relay's output events. */
  routingKey: string
  ledger: Ledger
  connectionName: string
  /** A durable named queue (node restarts), or a server-named exclusive one (`''`). @default '' */
  queue?: string
  /** Queue arguments (e.g. quorum). */
  arguments?: Record<string, unknown>
  prefetch?: number
  supervisor?: Partial<SupervisorOptions>
}

/** Opens a downstream consumer that tells the ledger what arrived. Dispose it with `await using`. */
export async function openSink(options: SinkOptions): Promise<Sink & AsyncDisposable> {
  const { ledger, queue = '', prefetch = 200 } = options
  const bus = createSupervisor({
    urls: options.urls,
    connectionName: options.connectionName,
    reconnect: { initialDelayMs: 50 },
    ...options.supervisor,
    topology: {
      exchanges: [{ name: 'events', type: 'topic' }],
      queues: [{ key: 'sink', name: queue, ...(options.arguments ? { arguments: options.arguments } : {}) }],
      bindings: [{ queue: 'sink', exchange: 'events', routingKey: options.routingKey }],
    },
  })
  const firstByGeneration = new Map<number, number>()
  const arrivals = new Map<string, number>()
  let losses = 0
  bus.on('disconnected', () => {
    losses += 1
  })
  await bus.ready()
  await bus.consume(
    'sink',
    (delivery) => {
      const { id, gen = 0 } = decode(delivery.body, delivery.properties.contentType as string) as Tracer
      ledger.deliver(id, { gen, sinkGen: delivery.generation, redelivered: delivery.redelivered })
      if (!arrivals.has(id)) arrivals.set(id, Date.now())
      if (!firstByGeneration.has(gen)) firstByGeneration.set(gen, Date.now())
      delivery.ack()
    },
    { prefetch },
  )
  return {
    bus,
    firstByGeneration,
    arrivals,
    losses: () => losses,
    queue: () => bus.queueName('sink') as string,
    firstAfter: async (gen, timeoutMs = 60_000) => {
      const later = (): number | undefined => {
        const times = [...firstByGeneration].filter(([g]) => g > gen).map(([, at]) => at)
        return times.length > 0 ? Math.min(...times) : undefined
      }
      return waitFor(later, timeoutMs, `an output relayed after connection #${gen}`)
    },
    [Symbol.asyncDispose]: () => bus.close(),
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * A gate for `produce` that keeps at most `backlog` messages waiting for the service: it always
 * has work, and the stream lasts as long as the service takes.
 */
export function backlogGate(ledger: Ledger, backlog: number): (seq: number) => Promise<void> | undefined {
  const behind = (seq: number): boolean => seq - ledger.received.size > backlog
  return (seq) => (behind(seq) ? waitFor(() => !behind(seq), 120_000).then(() => undefined) : undefined)
}

/** `count` random integers in [from, to), sorted. */
export function randomPoints(count: number, from: number, to: number): number[] {
  return Array.from({ length: count }, () => Math.floor(from + Math.random() * (to - from))).sort((a, b) => a - b)
}

/** Runs rabbitmqctl against the node that holds the queues (with `-q`). */
export type Ctl = (...args: string[]) => Promise<string>

/**
 * Resolves once no copy can still come downstream: `queues` (the service's input queue, the
 * downstream consumer's queue) hold nothing, ready or unacked. The relay acks an input only once
 * its output is confirmed, i.e. queued downstream, so nothing is then on its way.
 */
export async function drained(ctl: Ctl, vhost: string, queues: readonly string[], timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const listed = (
        await ctl('list_queues', '-p', vhost, 'name', 'messages', 'messages_unacknowledged', '--no-table-headers')
      )
        .split('\n')
        .map((line) => line.split('\t'))
        .filter(([name]) => queues.includes(name as string))
      return listed.length === queues.length && listed.every(([, ready, unacked]) => ready === '0' && unacked === '0')
    },
    timeoutMs,
    `${queues.join(' and ')} empty, nothing unacked`,
  )
}
