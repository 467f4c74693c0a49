import { DEAD_LETTERS } from '@am/protocol'
import { managementEndpoint, requestManagement, vhostOf } from './management.js'
import type { Supervisor } from './supervisor.js'
import { defineTopology, type Topology } from './topology.js'

/** Options of `setupDeadLettering`. */
export interface DeadLetterOptions {
  /**
   * The dead-letter exchange (topic, durable).
   * @default 'am-dlx'
   */
  exchange?: string
  /**
   * The durable queue that collects every dead letter (bound with `#`).
   * @default 'dead_letters'
   */
  queue?: string
  /**
   * Policy name. eventail's README calls it `DLX`: the same name replaces that policy instead of
   * competing with it.
   * @default 'DLX'
   */
  policyName?: string
  /**
   * Queues the policy applies to: the service queues, anchored (eventail's README pattern is not).
   * @default '^.*\\.(events|commands)$'
   */
  pattern?: string
  /**
   * The management HTTP API. By default, the broker host on port 15672 with the AMQP credentials.
   * `null` skips it: the result then carries the `rabbitmqctl` command to run.
   */
  managementUrl?: string | null
  /**
   * Timeout of the management API request, in ms.
   * @default 5000
   */
  timeoutMs?: number
}

/** What `setupDeadLettering` did. */
export interface DeadLetterSetup {
  exchange: string
  queue: string
  /** `applied` through the management API, or `manual`: run `command` yourself. */
  policy: 'applied' | 'manual'
  /** The `rabbitmqctl set_policy` command equivalent to the policy (always set). */
  command: string
  /** Why the policy could not be applied, when `manual`. */
  reason?: string
}

/** The dead-letter exchange and queue as a topology (declare it with a supervisor). */
export function deadLetterTopology(options: Pick<DeadLetterOptions, 'exchange' | 'queue'> = {}): Topology {
  const exchange = options.exchange ?? DEAD_LETTERS.exchange
  const queue = options.queue ?? DEAD_LETTERS.queue
  return defineTopology({
    exchanges: [{ name: exchange, type: 'topic' }],
    queues: [{ key: 'dead-letters', name: queue }],
    bindings: [{ queue: 'dead-letters', exchange, routingKey: '#' }],
  })
}

/**
 * Declares the dead-letter exchange and queue, then applies the dead-letter policy to the service
 * queues through the management HTTP API when it answers; otherwise returns the exact
 * `rabbitmqctl set_policy` command to run. Without such a policy, rejected messages are discarded.
 */
export async function setupDeadLettering(
  supervisor: Supervisor,
  amqpUrl: string,
  options: DeadLetterOptions = {},
): Promise<DeadLetterSetup> {
  const exchange = options.exchange ?? DEAD_LETTERS.exchange
  const queue = options.queue ?? DEAD_LETTERS.queue
  const policyName = options.policyName ?? DEAD_LETTERS.policyName
  const pattern = options.pattern ?? DEAD_LETTERS.pattern
  await supervisor.withChannel(async (channel) => {
    await channel.assertExchange(exchange, 'topic', { durable: true, autoDelete: false, internal: false })
    await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false })
    await channel.bindQueue(queue, exchange, '#')
  })
  const endpoint = options.managementUrl === null ? null : managementEndpoint(amqpUrl, options.managementUrl)
  const vhost = vhostOf(amqpUrl)
  const definition = { 'dead-letter-exchange': exchange }
  const command = `rabbitmqctl set_policy -p ${shellQuote(vhost)} ${shellQuote(policyName)} ${shellQuote(pattern)} ${shellQuote(JSON.stringify(definition))} --apply-to queues`
  if (endpoint === null) return { exchange, queue, policy: 'manual', command, reason: 'no management API given' }
  const answer = await requestManagement(
    endpoint,
    `policies/${encodeURIComponent(vhost)}/${encodeURIComponent(policyName)}`,
    {
      method: 'PUT',
      body: { pattern, definition, 'apply-to': 'queues', priority: 0 },
      timeoutMs: options.timeoutMs ?? 5_000,
    },
  )
  if (!answer.ok) {
    const reason = `management API unreachable at ${endpoint.url}: ${answer.reason}`
    return { exchange, queue, policy: 'manual', command, reason }
  }
  if (!answer.response.ok) {
    const text = await answer.response.text().catch(() => '')
    const reason = `management API answered ${answer.response.status} ${text}`.trim()
    return { exchange, queue, policy: 'manual', command, reason }
  }
  return { exchange, queue, policy: 'applied', command }
}

function shellQuote(value: string): string {
  return /^[\w./:@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`
}
