import { BUS_PRODUCT, type ManagementEndpoint, managementEndpoint, requestManagement } from '@am/bus-core'
import { redactUrl } from '@am/errors'
import { matchesTopic } from '@am/protocol'
import { CliError } from './errors.js'

/** Who consumes a queue, as the management API knows it. */
export interface QueueConsumers {
  /** One entry per consumer: the `product` client property of its connection (`null` when unset). */
  products: Array<string | null>
  /**
   * Consumers whose connection the management API did not name yet: it fills a consumer's channel
   * details from the channel statistics, emitted every few seconds (5 s by default).
   */
  unknown: number
  /** True when there is at least one consumer and every one of them is a known AM Bus connection. */
  onlyAmBus: boolean
}

/** The read-only part of the RabbitMQ management HTTP API that `am-resurrect` needs, for one vhost. */
export interface ManagementApi {
  /** The API's base URL, credentials left out (for messages). */
  readonly safeUrl: string
  /** The consumers of `queue` and the products of their connections. */
  consumersOf(queue: string): Promise<QueueConsumers>
  /** The queues (and exchanges, as `exchange <name>`) that `exchange` routes `routingKey` to, topic matching. */
  destinationsOf(exchange: string, routingKey: string): Promise<string[]>
}

/** Why the management API could not answer; `message` says what to do about it. */
export class ManagementError extends Error {
  override readonly name = 'ManagementError'
}

/**
 * A client of the management API: `managementUrl` (credentials in it, or those of the AMQP URL),
 * by default `http://<AMQP host>:15672/` with the AMQP URL's credentials. Answers are cached for
 * the run: a queue's consumers or an exchange's bindings are asked once.
 */
export function createManagementApi(
  amqpUrl: string,
  managementUrl: string | undefined,
  timeoutMs: number,
  options: { statisticsLagMs?: number } = {},
): ManagementApi {
  const statisticsLagMs = options.statisticsLagMs ?? 10_000
  let endpoint: ManagementEndpoint
  try {
    endpoint = managementEndpoint(amqpUrl, managementUrl)
  } catch (error) {
    throw new CliError('CLI_USAGE', `invalid --management-url ${redactUrl(String(managementUrl))}`, { cause: error })
  }
  const { protocol } = new URL(endpoint.url)
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new CliError('CLI_USAGE', `--management-url must be http:// or https://, not ${protocol}`)
  }
  const cache = new Map<string, Promise<unknown>>()

  const fresh = (path: string): Promise<unknown> => request(endpoint, path, timeoutMs)
  const get = (path: string): Promise<unknown> => {
    let answer = cache.get(path)
    if (!answer) {
      answer = fresh(path)
      cache.set(path, answer)
    }
    return answer
  }
  const v = encodeURIComponent(endpoint.vhost)
  const consumers = new Map<string, Promise<QueueConsumers>>()

  const askConsumers = async (queue: string): Promise<QueueConsumers> => {
    const deadline = Date.now() + statisticsLagMs
    let names: Array<string | undefined>
    for (;;) {
      const details = (await fresh(`queues/${v}/${encodeURIComponent(queue)}`)) as {
        consumer_details?: Array<{ channel_details?: { connection_name?: string } }>
      }
      names = (details.consumer_details ?? []).map((consumer) => consumer.channel_details?.connection_name)
      if (names.every((name) => name !== undefined) || Date.now() >= deadline) break
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const known = names.filter((name): name is string => name !== undefined)
    const products = await Promise.all(
      known.map(async (name) => {
        const connection = (await get(`connections/${encodeURIComponent(name)}`)) as {
          client_properties?: { product?: unknown }
        }
        const product = connection.client_properties?.product
        return typeof product === 'string' ? product : null
      }),
    )
    const unknown = names.length - known.length
    return {
      products,
      unknown,
      onlyAmBus: unknown === 0 && products.length > 0 && products.every((product) => product === BUS_PRODUCT),
    }
  }

  return {
    safeUrl: endpoint.url,
    consumersOf(queue) {
      let answer = consumers.get(queue)
      if (!answer) {
        answer = askConsumers(queue)
        consumers.set(queue, answer)
      }
      return answer
    },
    async destinationsOf(exchange, routingKey) {
      const bindings = (await get(`exchanges/${v}/${encodeURIComponent(exchange)}/bindings/source`)) as Array<{
        destination: string
        destination_type: string
        routing_key: string
      }>
      const reached = new Set<string>()
      for (const binding of bindings) {
        if (!matchesTopic(binding.routing_key, routingKey)) continue
        reached.add(binding.destination_type === 'queue' ? binding.destination : `exchange ${binding.destination}`)
      }
      return [...reached].sort()
    },
  }
}

async function request(endpoint: ManagementEndpoint, path: string, timeoutMs: number): Promise<unknown> {
  const answer = await requestManagement(endpoint, path, { timeoutMs })
  if (!answer.ok) throw new ManagementError(`the management API at ${endpoint.url} does not answer (${answer.reason})`)
  const { response } = answer
  if (response.status === 401) {
    throw new ManagementError(`the management API at ${endpoint.url} refused the login (401)`)
  }
  if (!response.ok) {
    const asked = decodeURIComponent(new URL(`api/${path}`, endpoint.url).pathname)
    throw new ManagementError(`the management API at ${endpoint.url} answered ${response.status} for ${asked}`)
  }
  return response.json()
}
