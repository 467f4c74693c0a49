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
 *   the login or the topology, with the URL's password hidden: `no broker at amqp://u:***@host/vh: …`.
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
    // a refused login or virtual host: another attempt within the timeout cannot fix it
    if ((error as ConnectionError | undefined)?.refused) giveUp?.(error as Error)
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
    const reason =
      error === timedOut
        ? `${lastError ? describeFailure(lastError, safeUrl) : 'no answer'} (gave up after ${formatDuration(timeoutMs)}: start RabbitMQ, fix the URL or raise --connect-timeout)`
        : describeFailure(error as Error, safeUrl)
    throw new CliError('CLI_UNAVAILABLE', redactUrl(`no broker at ${safeUrl}: ${reason}`), { cause: error })
  } finally {
    clearTimeout(timer)
    if (onAbort) ctx.signal.removeEventListener('abort', onAbort)
    supervisor.off('reconnecting', onReconnecting)
  }
}

/** The supervisor's message without its own "no broker at <url>: " (or "the broker at <url> ") prefix and advice. */
function describeFailure(error: Error, safeUrl: string): string {
  return redactUrl(error.message)
    .replace(`no broker at ${safeUrl}: `, '')
    .replace(/^no broker at \S+: /, '')
    .replace(/^the broker at \S+ /, '')
    .replace(
      / \((start RabbitMQ or fix the URL|check the user and password|create it, or give the user access to it)\)$/,
      '',
    )
}
