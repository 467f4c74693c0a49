import { redactUrl } from '@am/errors'
import { ConnectionError } from './errors.js'

/** Where the RabbitMQ management HTTP API of a broker is, and how to log in to it. */
export interface ManagementEndpoint {
  /** The API's base URL, ending in `/`, credentials left out (safe for messages). */
  readonly url: string
  /** The vhost of the AMQP URL, decoded (`/` by default). */
  readonly vhost: string
  /** The `authorization` header (HTTP basic). */
  readonly authorization: string
}

/** The answer of `requestManagement`: the response, or why there is none (no credentials in it). */
export type ManagementAnswer = { ok: true; response: Response } | { ok: false; reason: string }

/**
 * The management API of the broker of `amqpUrl`: `managementUrl` when given (its credentials, or
 * those of the AMQP URL), else `http://<AMQP host>:15672/` with the AMQP URL's credentials
 * (`guest:guest` when it has none). An unparsable `managementUrl` throws `OPTIONS_INVALID`.
 */
export function managementEndpoint(amqpUrl: string, managementUrl?: string): ManagementEndpoint {
  const amqp = new URL(amqpUrl)
  let url: URL
  try {
    url = new URL(managementUrl ?? `http://${amqp.hostname}:15672/`)
  } catch (error) {
    throw new ConnectionError('OPTIONS_INVALID', `invalid management URL: ${redactUrl(String(managementUrl))}`, {
      cause: error,
    })
  }
  const username = decodeURIComponent(url.username || amqp.username || 'guest')
  const password = decodeURIComponent(url.password || amqp.password || 'guest')
  url.username = ''
  url.password = ''
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return {
    url: url.href,
    vhost: vhostOf(amqp),
    authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
  }
}

/** The vhost an AMQP URL names, decoded: `/` when its path is empty. */
export function vhostOf(amqpUrl: string | URL): string {
  const { pathname } = typeof amqpUrl === 'string' ? new URL(amqpUrl) : amqpUrl
  return pathname === '' || pathname === '/' ? '/' : decodeURIComponent(pathname.slice(1))
}

/**
 * Sends one request to `api/<path>` of the management API, with a timeout. A request that gets no
 * answer resolves to `{ ok: false, reason }` (the network error code, e.g. `ECONNREFUSED`); any
 * HTTP answer, error statuses included, to `{ ok: true, response }`.
 */
export async function requestManagement(
  endpoint: ManagementEndpoint,
  path: string,
  options: { method?: string; body?: unknown; timeoutMs: number },
): Promise<ManagementAnswer> {
  try {
    const response = await fetch(new URL(`api/${path}`, endpoint.url), {
      method: options.method ?? 'GET',
      headers: {
        authorization: endpoint.authorization,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(options.timeoutMs),
    })
    return { ok: true, response }
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    return { ok: false, reason: redactUrl(cause?.code ?? cause?.message ?? (error as Error).message) }
  }
}
