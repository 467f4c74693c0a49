import { restoreDash } from './argv.js'
import { CliError } from './errors.js'

/** Whether a command-line argument is a broker URL (`amqp://` or `amqps://`). */
export function isBrokerUrl(value: string | undefined): value is string {
  return value !== undefined && /^amqps?:\/\//i.test(value)
}

/**
 * The broker URL: the first positional argument when given, else `AMQP_URL`.
 * @throws {CliError} `CLI_USAGE` when there is neither.
 */
export function resolveUrl(positional: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = positional || env.AMQP_URL
  if (!url) throw new CliError('CLI_USAGE', 'give the broker URL as first argument or set AMQP_URL')
  return url
}

/**
 * Splits the positional arguments of a tool whose URL argument may be left out when `AMQP_URL`
 * is set: when the first one is a broker URL it is the URL, otherwise every positional belongs to
 * the tool and the URL comes from `AMQP_URL`.
 * @throws {CliError} `CLI_USAGE` when there is no URL at all.
 * @example
 * const { url, rest: [event, payloadFile] } = splitUrl(positionals, ctx.env)
 */
export function splitUrl(positionals: readonly string[], env: NodeJS.ProcessEnv): { url: string; rest: string[] } {
  const [first, ...others] = positionals.map(String).map(restoreDash)
  if (isBrokerUrl(first)) return { url: first, rest: others }
  return { url: resolveUrl(undefined, env), rest: first === undefined ? [] : [first, ...others] }
}

/**
 * The positionals of a tool that sends one payload file: `[url] <name> <payload_file>`, the URL
 * optional when `AMQP_URL` is set (see `splitUrl`). `label` names the first one in the usage error.
 * @throws {CliError} `CLI_USAGE` when there is no URL, or not exactly two other arguments:
 *   `expected <event> <payload_file> after the broker URL, got 1 argument(s); see --help`.
 */
export function splitPayloadArgs(
  positionals: readonly string[],
  env: NodeJS.ProcessEnv,
  label: string,
): { url: string; name: string; payloadFile: string } {
  const { url, rest } = splitUrl(positionals, env)
  const [name, payloadFile, ...extra] = rest
  if (!name || !payloadFile || extra.length > 0) {
    throw new CliError(
      'CLI_USAGE',
      `expected ${label} <payload_file> after the broker URL, got ${rest.length} argument(s); see --help`,
    )
  }
  return { url, name, payloadFile }
}
