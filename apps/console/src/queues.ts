import { BUS_PRODUCT, managementEndpoint, requestManagement } from '@am/bus-core'
import { createManagementApi } from '@am/cli-kit'
import { redactUrl } from '@am/errors'

/** One service queue as the management API sees it. */
export interface QueueView {
  name: string
  /** Messages ready + unacknowledged. */
  messages: number
  ready: number
  unacked: number
  consumers: number
  /** Per second, as the management API averages them. */
  rates: { publish: number; deliver: number; ack: number }
  /** Consumers by the `product` client property of their connection: AM Bus, others (eventail…), not known yet. */
  amBus: number
  other: number
  unknown: number
  /** The products of the other consumers (`Pika Python Client Library`…). */
  products: string[]
}

/** A logical service: its `<svc>.events` and `<svc>.commands` queues. */
export interface ServiceView {
  service: string
  events?: QueueView
  commands?: QueueView
}

/** Every queue's name and depth (for the DLQ picker), and the logical services. */
export interface QueuesView {
  services: ServiceView[]
  /** Queues that look like dead-letter queues: their name, or no consumer and bound to a DLX (best effort). */
  queues: Array<{ name: string; messages: number; consumers: number }>
}

interface ManagementQueue {
  name: string
  messages?: number
  messages_ready?: number
  messages_unacknowledged?: number
  consumers?: number
  message_stats?: Record<string, { rate?: number } | number | undefined>
}

/** The Queues view, from the management API (the AMQP URL's credentials unless `managementUrl` has some). */
export async function listQueues(
  amqpUrl: string,
  managementUrl: string | undefined,
  timeoutMs: number,
): Promise<QueuesView> {
  const endpoint = managementEndpoint(amqpUrl, managementUrl)
  const answer = await requestManagement(endpoint, `queues/${encodeURIComponent(endpoint.vhost)}`, { timeoutMs })
  if (!answer.ok) throw new Error(`the management API at ${endpoint.url} does not answer (${answer.reason})`)
  if (!answer.response.ok) {
    throw new Error(`the management API at ${redactUrl(endpoint.url)} answered ${answer.response.status}`)
  }
  const queues = (await answer.response.json()) as ManagementQueue[]
  // No wait for statistics: a consumer whose connection is not known yet counts as unknown.
  const management = createManagementApi(amqpUrl, managementUrl, timeoutMs, { statisticsLagMs: 0 })
  const services = new Map<string, ServiceView>()
  await Promise.all(
    queues.map(async (queue) => {
      const match = /^(.+)\.(events|commands)$/.exec(queue.name)
      if (!match) return
      const [, service = '', kind] = match
      const view = await queueView(queue, management)
      const entry = services.get(service) ?? { service }
      entry[kind as 'events' | 'commands'] = view
      services.set(service, entry)
    }),
  )
  return {
    services: [...services.values()].sort((a, b) => a.service.localeCompare(b.service)),
    queues: queues
      .map((queue) => ({ name: queue.name, messages: queue.messages ?? 0, consumers: queue.consumers ?? 0 }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  }
}

async function queueView(
  queue: ManagementQueue,
  management: ReturnType<typeof createManagementApi>,
): Promise<QueueView> {
  const rate = (key: string): number => {
    const details = queue.message_stats?.[`${key}_details`]
    return typeof details === 'object' && typeof details.rate === 'number' ? details.rate : 0
  }
  const view: QueueView = {
    name: queue.name,
    messages: queue.messages ?? 0,
    ready: queue.messages_ready ?? 0,
    unacked: queue.messages_unacknowledged ?? 0,
    consumers: queue.consumers ?? 0,
    rates: { publish: rate('publish'), deliver: rate('deliver_get'), ack: rate('ack') },
    amBus: 0,
    other: 0,
    unknown: 0,
    products: [],
  }
  if (view.consumers === 0) return view
  try {
    const consumers = await management.consumersOf(queue.name)
    view.unknown = consumers.unknown
    for (const product of consumers.products) {
      if (product === BUS_PRODUCT) view.amBus += 1
      else {
        view.other += 1
        const name = product ?? 'no product property'
        if (!view.products.includes(name)) view.products.push(name)
      }
    }
  } catch {
    view.unknown = view.consumers
  }
  return view
}
