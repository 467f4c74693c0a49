import type { BindingSpec, Delivery, ExchangeSpec, QueueSpec, SupervisorLike, Topology } from '@am/bus-core'
import { headerText, RETRY_HEADERS, routingKeyOf, serviceQueueName, waitQueueName } from '@am/protocol'
import { ServiceError } from './errors.js'
import type { HandlerTables } from './handler-table.js'
import { HandlerTable } from './routing.js'

/** A delayed-retry policy: the waits before the 2nd, 3rd… attempt of a message whose handler failed. */
export interface RetryPolicy {
  /**
   * One wait per retry, in ms (integers from 1 to 2^31 − 1): `[1_000, 10_000]` makes three attempts
   * at most, the 2nd one second after the 1st failed, the 3rd ten seconds after the 2nd failed.
   * `[]` turns delayed retries off (the immediate requeue-once of eventail).
   */
  readonly delaysMs: readonly number[]
}

/** Per handler-table key overrides of the service's policy (`false`: no delayed retry for it). */
export interface RetryOverrides {
  readonly events?: Readonly<Record<string, RetryPolicy | false>>
  readonly commands?: Readonly<Record<string, RetryPolicy | false>>
  readonly results?: Readonly<Record<string, RetryPolicy | false>>
}

/**
 * The `retry` option of a service: delayed retries of failed messages through wait queues
 * (`<service>.<events|commands>.retry.<delayMs>`), instead of eventail's immediate requeue-once.
 */
export interface RetryOptions {
  /** The policy of every handler without an override. @default [] (no delayed retry) */
  readonly delaysMs?: readonly number[]
  /** Overrides by kind and handler-table key (the very key of the table, pattern included). */
  readonly handlers?: RetryOverrides
}

type RetryKind = 'events' | 'commands' | 'results'
type QueueOrigin = 'events' | 'commands'

const MAX_DELAY = 2_147_483_647
const MAX_ERROR_TEXT = 500

/** What `Retry.plan` decided for a failed delivery. @internal */
export type RetryPlan =
  | { readonly action: 'none' }
  | { readonly action: 'give-up'; readonly attempts: number; readonly history: readonly string[] }
  | { readonly action: 'wait'; readonly attempt: number; readonly delayMs: number; readonly queue: string }

const NONE: RetryPlan = { action: 'none' }

/**
 * The delayed retries of one service: the wait-queue topology, and for a failed delivery whether
 * to wait (in which queue) or give up. Made at start only when some handler has a policy.
 * @internal
 */
export class Retry {
  bus: SupervisorLike | undefined
  readonly topology: Topology
  readonly #service: string
  readonly #queues: Record<QueueOrigin, string>
  readonly #policies: Record<RetryKind, HandlerTable<readonly number[]>>

  private constructor(
    service: string,
    policies: Record<RetryKind, HandlerTable<readonly number[]>>,
    topology: Topology,
  ) {
    this.#service = service
    this.#policies = policies
    this.topology = topology
    this.#queues = { events: serviceQueueName(service, 'events'), commands: serviceQueueName(service, 'commands') }
  }

  /**
   * The retries of service `service` for its handler tables, or `undefined` when no handler has
   * delays (or the queues are exclusive: they die with the connection, so nothing could wait).
   * Throws `SERVICE_INVALID` for a bad delay or an override of a key the table does not have.
   */
  static create(
    service: string,
    options: RetryOptions | undefined,
    tables: HandlerTables,
    settings: { exclusiveQueues: boolean; queueType: 'classic' | 'quorum' },
  ): Retry | undefined {
    if (options === undefined) return undefined
    const base = checkDelays(options.delaysMs ?? [], `retry.delaysMs of ${service}`)
    const policies = {} as Record<RetryKind, HandlerTable<readonly number[]>>
    const delays: Record<QueueOrigin, Set<number>> = { events: new Set(), commands: new Set() }
    for (const kind of ['events', 'commands', 'results'] as const) {
      const overrides = options.handlers?.[kind] ?? {}
      const keys = tables[kind].keys
      for (const key of Object.keys(overrides)) {
        if (!keys.includes(key)) {
          throw new ServiceError(
            'SERVICE_INVALID',
            `retry.handlers.${kind} of ${service} names '${key}', which is not a key of its ${kind} handlers`,
          )
        }
      }
      const entries: Array<[string, readonly number[]]> = keys.map((key) => {
        const override = overrides[key]
        if (override === undefined) return [key, base]
        if (override === false) return [key, []]
        return [key, checkDelays(override.delaysMs, `retry.handlers.${kind}['${key}'].delaysMs of ${service}`)]
      })
      policies[kind] = new HandlerTable(entries)
      const origin: QueueOrigin = kind === 'events' ? 'events' : 'commands'
      for (const [, list] of entries) for (const delay of list) delays[origin].add(delay)
    }
    if (settings.exclusiveQueues || delays.events.size + delays.commands.size === 0) return undefined
    return new Retry(service, policies, waitTopology(service, delays, settings.queueType))
  }

  /** What to do with a delivery whose handler failed with `error`. */
  plan(delivery: Delivery, error: unknown): RetryPlan {
    const origin = this.#originOf(delivery)
    if (origin === undefined) return NONE
    const kind: RetryKind = origin === 'events' ? 'events' : delivery.properties.replyTo ? 'commands' : 'results'
    const delays = this.#policies[kind].find(routingKeyOf(delivery))
    if (delays === undefined || delays.length === 0) return NONE
    const failed = attemptsOf(delivery.headers) + 1
    if (failed > delays.length) {
      return { action: 'give-up', attempts: failed, history: [...errorsOf(delivery.headers), firstLine(error)] }
    }
    const delayMs = delays[failed - 1] as number
    return { action: 'wait', attempt: failed, delayMs, queue: waitQueueName(this.#service, origin, delayMs) }
  }

  /**
   * Puts a copy of `delivery` in its wait queue (through the queue's fanout exchange, under its
   * original routing key, so that `x-death` keeps it), persistent, mandatory, and resolves once
   * the broker confirmed it; rejects otherwise.
   */
  async wait(delivery: Delivery, plan: Extract<RetryPlan, { action: 'wait' }>, error: unknown): Promise<void> {
    const bus = this.bus
    if (!bus) throw new ServiceError('SERVICE_STATE', 'the service is not started')
    const p = delivery.properties
    const headers: Record<string, unknown> = { ...delivery.headers }
    delete headers['x-delivery-count']
    headers[RETRY_HEADERS.attempt] = plan.attempt
    headers[RETRY_HEADERS.errors] = [...errorsOf(delivery.headers), firstLine(error)]
    await bus.publish(plan.queue, routingKeyOf(delivery), delivery.body, {
      mandatory: true,
      persistent: true,
      headers,
      ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
      ...(p.contentEncoding !== undefined ? { contentEncoding: p.contentEncoding } : {}),
      ...(p.correlationId !== undefined ? { correlationId: p.correlationId } : {}),
      ...(p.replyTo !== undefined ? { replyTo: p.replyTo } : {}),
      ...(p.messageId !== undefined ? { messageId: p.messageId } : {}),
      ...(p.timestamp !== undefined ? { timestamp: p.timestamp } : {}),
      ...(p.type !== undefined ? { type: p.type } : {}),
      ...(p.appId !== undefined ? { appId: p.appId } : {}),
      ...(p.priority !== undefined ? { priority: p.priority } : {}),
    })
  }

  #originOf(delivery: Delivery): QueueOrigin | undefined {
    if (delivery.queue === this.#queues.events) return 'events'
    if (delivery.queue === this.#queues.commands) return 'commands'
    return undefined
  }
}

/** The wait queues: one per service queue and delay, each with the fanout exchange of the same name. */
function waitTopology(
  service: string,
  delays: Record<QueueOrigin, Set<number>>,
  queueType: 'classic' | 'quorum',
): Topology {
  const exchanges: ExchangeSpec[] = []
  const queues: QueueSpec[] = []
  const bindings: BindingSpec[] = []
  for (const origin of ['events', 'commands'] as const) {
    for (const delay of [...delays[origin]].sort((a, b) => a - b)) {
      const name = waitQueueName(service, origin, delay)
      const key = `retry:${name}`
      exchanges.push({ name, type: 'fanout' })
      queues.push({
        key,
        name,
        arguments: {
          'x-message-ttl': delay,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': serviceQueueName(service, origin),
          // Quorum queues dead-letter at most once unless asked; at-least-once needs reject-publish.
          ...(queueType === 'quorum'
            ? { 'x-queue-type': 'quorum', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
            : {}),
        },
      })
      bindings.push({ queue: key, exchange: name, routingKey: '' })
    }
  }
  return { exchanges, queues, bindings }
}

function checkDelays(delays: readonly number[], what: string): readonly number[] {
  if (!Array.isArray(delays)) throw new ServiceError('SERVICE_INVALID', `${what} must be an array of delays in ms`)
  for (const delay of delays) {
    if (!Number.isInteger(delay) || delay < 1 || delay > MAX_DELAY) {
      throw new ServiceError(
        'SERVICE_INVALID',
        `${what}: each delay must be an integer from 1 to ${MAX_DELAY} ms, got ${delay}`,
      )
    }
  }
  return [...delays]
}

/** Failed attempts so far, from the `am-retry-attempt` header (0 when absent or not a count). @internal */
export function attemptsOf(headers: Record<string, unknown>): number {
  const raw = headers[RETRY_HEADERS.attempt]
  const value = typeof raw === 'number' ? raw : typeof raw === 'bigint' ? Number(raw) : Number(headerText(raw))
  return Number.isInteger(value) && value > 0 ? value : 0
}

/** The errors of the attempts so far, from the `am-retry-errors` header. @internal */
export function errorsOf(headers: Record<string, unknown>): string[] {
  const raw = headers[RETRY_HEADERS.errors]
  if (!Array.isArray(raw)) return []
  return raw.map((entry: unknown) => headerText(entry) ?? String(entry))
}

/** An error's first line, at most 500 characters. @internal */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const line = text.split('\n', 1)[0] ?? ''
  return line.length > MAX_ERROR_TEXT ? `${line.slice(0, MAX_ERROR_TEXT - 1)}…` : line
}
