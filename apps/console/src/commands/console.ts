import { eventailTopology } from '@am/bus-core'
import {
  type CliContext,
  CliError,
  connectBus,
  listOption,
  parseCommonOptions,
  parseNumberOption,
  splitUrl,
  writeNdjson,
} from '@am/cli-kit'
import { redactUrl } from '@am/errors'
import { DEAD_LETTERS } from '@am/protocol'
import pkg from '../../package.json' with { type: 'json' }
import { AUDIT_SERVICE } from '../audit.js'
import { type LiveHub, startLiveHub } from '../live.js'
import { type ConsoleServer, isLoopback, startConsoleServer } from '../server.js'

/** Options as cac hands them. */
export interface ConsoleOptions {
  port?: unknown
  host?: unknown
  token?: unknown
  dlq?: unknown
  managementUrl?: unknown
  live?: unknown
  ndjson?: boolean
  connectTimeout?: unknown
}

/** What `am-console` does, checked. */
export interface ConsoleSettings {
  url: string
  port: number
  host: string
  token: string | undefined
  dlqs: string[]
  managementUrl: string | undefined
  live: boolean
  ndjson: boolean
  connectTimeoutMs: number
}

/** Checks the arguments: `[url]`, `--port`, `--host`, `--token`, `--dlq`, `--management-url`, `--no-live`. */
export function resolveSettings(
  args: readonly string[],
  options: ConsoleOptions,
  env: NodeJS.ProcessEnv,
): ConsoleSettings {
  const { url, rest } = splitUrl(args, env)
  if (rest.length > 0) {
    throw new CliError(
      'CLI_USAGE',
      `unexpected argument ${JSON.stringify(rest[0])}: am-console takes only the broker URL`,
    )
  }
  const port = parseNumberOption('port', options.port) ?? 8080
  if (port > 65535) throw new CliError('CLI_USAGE', `--port must be 0-65535, got ${port}`)
  const host = options.host === undefined ? '127.0.0.1' : String(options.host)
  if (host === '') throw new CliError('CLI_USAGE', '--host needs an address')
  const token = options.token === undefined ? undefined : String(options.token)
  if (token !== undefined && token.length < 16) {
    throw new CliError('CLI_USAGE', '--token must be at least 16 characters (or leave it out: one is generated)')
  }
  const managementUrl = options.managementUrl
  if (managementUrl !== undefined && (typeof managementUrl !== 'string' || managementUrl === '')) {
    throw new CliError('CLI_USAGE', '--management-url needs a URL: --management-url http://user:pass@host:15672')
  }
  const dlqs = listOption(options.dlq)
  return {
    url,
    port,
    host,
    token,
    dlqs: dlqs.length > 0 ? dlqs : [DEAD_LETTERS.queue],
    managementUrl,
    live: options.live !== false,
    ...parseCommonOptions(options),
  }
}

/** Runs the console until Ctrl-C/SIGTERM. */
export async function runConsoleCommand(
  ctx: CliContext,
  args: readonly string[],
  options: ConsoleOptions,
): Promise<void> {
  const settings = resolveSettings(args, options, ctx.env)
  await using running = await startConsole(ctx, settings)
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve()
    ctx.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  ctx.logger.info(`am-console at ${running.server.url} stopping`)
}

/** A started console: its server, connections and live traffic. */
export interface RunningConsole extends AsyncDisposable {
  server: ConsoleServer
  close(): Promise<void>
}

/** Connects, starts the live traffic and the server, prints where to open it. */
export async function startConsole(ctx: CliContext, settings: ConsoleSettings): Promise<RunningConsole> {
  // It publishes (audit logs on `logs`, replays on `events`/`commands`): the four exchanges are
  // declared as a publisher's are, so that a bus where no service has run yet does not close the
  // channel on the first audit.
  const bus = await connectBus(ctx, settings.url, {
    tool: 'console',
    topology: eventailTopology({ service: AUDIT_SERVICE }),
    connectTimeoutMs: settings.connectTimeoutMs,
  })
  let live: LiveHub | undefined
  let server: ConsoleServer | undefined
  const close = async (): Promise<void> => {
    await server?.close()
    await live?.close()
    await bus.close()
  }
  try {
    if (settings.live) live = await startLiveHub(ctx, settings.url, { connectTimeoutMs: settings.connectTimeoutMs })
    try {
      server = await startConsoleServer({
        ctx,
        url: settings.url,
        bus,
        ...(live ? { live } : {}),
        dlqs: settings.dlqs,
        managementUrl: settings.managementUrl,
        host: settings.host,
        port: settings.port,
        token: settings.token,
        ndjson: settings.ndjson,
        timeoutMs: settings.connectTimeoutMs,
        version: pkg.version,
      })
    } catch (error) {
      throw new CliError(
        'CLI_FAILED',
        `cannot listen on ${settings.host}:${settings.port}: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
  } catch (error) {
    await close()
    throw error
  }
  const open = server.token ? `${server.url}?token=${server.token}` : server.url
  if (settings.ndjson) {
    writeNdjson(ctx, { listening: server.url, open, broker: redactUrl(settings.url), dlqs: settings.dlqs })
  } else {
    ctx.logger.log(`am-console for ${redactUrl(settings.url)} on ${open}`)
    if (!isLoopback(settings.host)) {
      ctx.logger.log('Not on loopback: every request must carry the token above (the link sets it as a cookie).')
    }
  }
  const running = server
  return { server: running, close, [Symbol.asyncDispose]: close }
}
