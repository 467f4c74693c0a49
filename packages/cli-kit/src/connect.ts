import { hostname } from 'node:os'
import {
  type ConnectionError,
  createSupervisor,
  type Logger,
  type Supervisor,
  type SupervisorOptions,
  type Topology,
} from '@am/bus-core'
import { redactUrl } from '@am/errors'
import type { CliContext } from './context.js'
import { CliError } from './errors.js'
import { formatDuration } from './wait.js'

/** Default of `--connect-timeout` (5 s), in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000

/** Options of `connectBus`. */
export interface ConnectBusOptions {
  /** The tool's name without `am-` (`publish-event`): the connection is named `am-<tool>@<host>:<pid>`. */
  tool: string
  /** Exchanges, queues and bindings declared at every connection. */
  topology?: Topology
  /**
   * How long to wait for the first connection (TCP, AMQP handshake, topology), in ms.
   * @default 5000
   */
  connectTimeoutMs?: number
  /** Further supervisor options (confirm window, close timeout…). */
  supervisor?: Omit<SupervisorOptions, 'urls' | 'connectionName' | 'topology' | 'logger' | 'connectTimeoutMs'>
}

/**
 * Connects to the broker for a tool: a supervisor named `am-<tool>@<host>:<pid>` with the given
 * topology, ready within `connectTimeoutMs`. Afterwards the supervisor reconnects by itself and
 * its warnings go to `ctx.logger`. The caller closes it.
 * @throws {CliError} `CLI_UNAVAILABLE` (exit 69) when the broker does not answer in time, refuses
 *   the login, the virtual host or the topology, or the TLS handshake fails (the last three at
 *   once), with the URL's password hidden and the supervisor's error as `cause`:
 *   `no broker at amqp://u:***@host/vh: nothing listens on host:5672 (ECONNREFUSED) (gave up after 5 s): …`.
 * @example
 * await using bus = await connectBus(ctx, url, { tool: 'publish-event', topology })
 */
export async function connectBus(ctx: CliContext, url: string, options: ConnectBusOptions): Promise<Supervisor> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const safeUrl = redactUrl(url)
  let connected = false
  // Until connected, failures end up in the one error line below; afterwards, the supervisor's
  // warnings (connection lost, reconnecting) are worth showing.
  const forward =
    (level: keyof Logger) =>
    (message: unknown, ...rest: unknown[]): void => {
      if (connected && level !== 'debug') ctx.logger[level](redactUrl(String(message)), ...rest)
    }
  const logger: Logger = {
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: forward('error'),
  }
  let supervisor: Supervisor
  try {
    supervisor = createSupervisor({
      ...options.supervisor,
      urls: url,
      connectionName: `am-${options.tool}@${hostname()}:${process.pid}`,
      connectTimeoutMs: timeoutMs,
      logger,
      ...(options.topology ? { topology: options.topology } : {}),
    })
  } catch (error) {
    throw new CliError('CLI_USAGE', redactUrl((error as Error).message), { cause: error })
  }

  let lastError: Error | undefined
  let giveUp: ((error: Error) => void) | undefined
  const onReconnecting = ({ error }: { error: Error | undefined }): void => {
    lastError = error ?? lastError
    // Refused (the supervisor fails by itself then) or a TLS failure: waiting cannot fix it.
    const failure = (error as ConnectionError | undefined)?.failure
    if (failure === 'login' || failure === 'vhost' || failure === 'tls') giveUp?.(error as Error)
  }
  supervisor.on('reconnecting', onReconnecting)
  const timedOut = new Error('timed out')
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  try {
    await Promise.race([
      supervisor.ready(),
      new Promise<never>((_, reject) => {
        giveUp = reject
        timer = setTimeout(() => reject(timedOut), timeoutMs)
        onAbort = () => reject(ctx.signal.reason)
        if (ctx.signal.aborted) onAbort()
        else ctx.signal.addEventListener('abort', onAbort, { once: true })
      }),
    ])
    connected = true
    return supervisor
  } catch (error) {
    await supervisor.destroy()
    if (ctx.signal.aborted) throw error
    throw new CliError(
      'CLI_UNAVAILABLE',
      redactUrl(describeFailure(error === timedOut ? undefined : error, lastError, safeUrl, timeoutMs)),
      {
        cause: error === timedOut ? (lastError ?? error) : error,
      },
    )
  } finally {
    clearTimeout(timer)
    if (onAbort) ctx.signal.removeEventListener('abort', onAbort)
    supervisor.off('reconnecting', onReconnecting)
  }
}

/**
 * The line a tool prints: the supervisor's own (which names the URL, what happened and what to
 * do) and, after a timeout, how long we waited and the option that waits longer.
 */
function describeFailure(error: unknown, lastError: Error | undefined, safeUrl: string, timeoutMs: number): string {
  const waited = `gave up after ${formatDuration(timeoutMs)}`
  if (error === undefined) {
    if (!lastError)
      return `no broker at ${safeUrl}: no answer (${waited}): start RabbitMQ, fix the URL or raise --connect-timeout`
    if ((lastError as ConnectionError).failure !== 'unreachable') return `${lastError.message} (${waited})`
    const [, what = lastError.message] = /^(.*): start RabbitMQ or fix the URL$/.exec(lastError.message) ?? []
    return `${what} (${waited}): start RabbitMQ, fix the URL or raise --connect-timeout`
  }
  return error instanceof Error ? error.message : String(error)
}
