import { BUS_PRODUCT } from '@am/bus-core'
import { CliError } from '@am/cli-kit'
import { redactUrl } from '@am/errors'
import { matchesTopic } from '@am/service'

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
  const amqp = new URL(amqpUrl)
  const vhost = amqp.pathname === '' || amqp.pathname === '/' ? '/' : decodeURIComponent(amqp.pathname.slice(1))
  let base: URL
  try {
    base = new URL(managementUrl ?? `http://${amqp.host.replace(/:\d+$/, '')}:15672/`)
  } catch (error) {
    throw new CliError('CLI_USAGE', `invalid --management-url ${redactUrl(String(managementUrl))}`, { cause: error })
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new CliError('CLI_USAGE', `--management-url must be http:// or https://, not ${base.protocol}`)
  }
  const username = decodeURIComponent(base.username || amqp.username || 'guest')
  const password = decodeURIComponent(base.password || amqp.password || 'guest')
  base.username = ''
  base.password = ''
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  const safeUrl = base.href
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  const cache = new Map<string, Promise<unknown>>()

  const fresh = (path: string): Promise<unknown> =>
    request(new URL(`api/${path}`, base), authorization, safeUrl, timeoutMs)
  const get = (path: string): Promise<unknown> => {
    let answer = cache.get(path)
    if (!answer) {
      answer = fresh(path)
      cache.set(path, answer)
    }
    return answer
  }
  const v = encodeURIComponent(vhost)
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
    safeUrl,
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

async function request(url: URL, authorization: string, safeUrl: string, timeoutMs: number): Promise<unknown> {
  let response: Response
  try {
    response = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    const why = cause?.code ?? cause?.message ?? (error as Error).message
    throw new ManagementError(`the management API at ${safeUrl} does not answer (${why})`)
  }
  if (response.status === 401) {
    throw new ManagementError(`the management API at ${safeUrl} refused the login (401)`)
  }
  if (!response.ok) {
    const path = decodeURIComponent(url.pathname)
    throw new ManagementError(`the management API at ${safeUrl} answered ${response.status} for ${path}`)
  }
  return response.json()
}
