// The demo: every example service in one process on a local broker, and a spy that prints each
// message flowing. `node examples/dist/demo.js [--seconds N]`, or `pnpm demo` at the root.
//
// Service names are the eventail examples' (pong, ping…), stable from run to run: their durable
// queues are reused rather than piling up, and several demos on one broker simply share the work,
// as instances of a logical service do. The spy's queues are exclusive and vanish with it.
import { createHash } from 'node:crypto'
import { formatWithOptions, parseArgs } from 'node:util'
import {
  ConnectionError,
  createSupervisor,
  type Logger,
  type SupervisorLike,
  type SupervisorOptions,
  TopologyError,
} from '@am/bus-core'
import { redactUrl } from '@am/errors'
import { createMemoryBroker } from '@am/testing'
import { type ConsolaInstance, type ConsolaReporter, createConsola, LogLevels } from 'consola'
import { colors } from 'consola/utils'
import { Configurator, Speaker } from './configured.js'
import { Ping, Pong } from './ping-pong.js'
import { Relay, Shop } from './relay.js'
import { type SpiedKind, type SpiedMessage, watchBus } from './spy.js'

const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672/'
const DEFAULT_SECONDS = 8
const ORDERS = 3
const EXIT = { OK: 0, FAILED: 1, USAGE: 64, UNAVAILABLE: 69, INTERRUPTED: 130 } as const
const USAGE =
  'usage: node examples/dist/demo.js [--seconds N] [--memory] (broker: AMQP_URL, default amqp://guest:***@127.0.0.1:5672/, else the in-memory bus)'

async function main(argv: string[]): Promise<number> {
  const args = parseArgv(argv)
  if (args === undefined) return EXIT.USAGE
  const { seconds } = args
  const explicit = process.env.AMQP_URL || undefined
  const url = explicit ?? DEFAULT_URL
  const safeUrl = redactUrl(url)

  const started = Date.now()
  const counts = new Map<SpiedKind, number>()
  const senders = new Senders()
  const onMessage = (message: SpiedMessage): void => {
    counts.set(message.kind, (counts.get(message.kind) ?? 0) + 1)
    logger.log(formatMessage(message, senders.senderOf(message), Date.now() - started))
  }
  // Without AMQP_URL and without a local broker, the same services run on @am/testing's in-memory
  // bus, so that a newcomer sees the toolkit work before installing RabbitMQ.
  let supervisorFactory: ReturnType<ReturnType<typeof createMemoryBroker>['supervisorFactory']> | undefined
  let spy: Awaited<ReturnType<typeof watchBus>> | undefined
  if (!args.memory) {
    try {
      spy = await watchBus({ urls: url, onMessage })
      logger.info(`Demo on ${safeUrl} for ${seconds} s (Ctrl-C stops it)`)
    } catch (error) {
      if (error instanceof TopologyError) throw error
      // The supervisor's message names the URL, what happened and what to do. Only a broker that
      // is not there at the default URL sends the demo to the in-memory bus: a refused login or
      // virtual host, a TLS failure or a set AMQP_URL deserve the real reason.
      const message = redactUrl((error as Error).message)
      const unreachable = error instanceof ConnectionError && error.failure === 'unreachable'
      if (explicit || !unreachable) {
        logger.error(
          unreachable
            ? message.replace(
                /: start RabbitMQ or fix the URL$/,
                ': start RabbitMQ (rabbitmq-server -detached) or fix AMQP_URL',
              )
            : message,
        )
        return EXIT.UNAVAILABLE
      }
      const reason = message.replace(/^no broker at \S+: /, '').replace(/: start RabbitMQ or fix the URL$/, '')
      logger.info(
        `Demo on the in-memory bus (@am/testing), as no broker answers at ${safeUrl} (${reason}), for ${seconds} s (Ctrl-C stops it). Start RabbitMQ (rabbitmq-server -detached) or set AMQP_URL for the real thing.`,
      )
    }
  } else logger.info(`Demo on the in-memory bus (@am/testing, --memory) for ${seconds} s (Ctrl-C stops it)`)
  if (!spy) {
    supervisorFactory = createMemoryBroker().supervisorFactory()
    spy = await watchBus({ urls: url, onMessage, supervisorFactory })
  }
  logger.info(LEGEND)

  // The framework's own warnings (connection lost, reconnecting); the bus logs go through the spy.
  const options = {
    urls: url,
    handleSignals: false,
    stopTimeoutMs: 2_000,
    logger: frameworkLogger(),
    supervisorFactory: senders.recording(supervisorFactory ?? createSupervisor),
  }
  const shop = new Shop(options)
  const ping = new Ping(options)
  // Typed services share no common type argument: only what the demo calls.
  const services: Array<{ start(): Promise<void>; stop(): Promise<void> }> = [
    new Pong(options),
    new Relay(options),
    new Configurator(options),
    new Speaker(options),
    ping,
    shop,
  ]
  try {
    // Pong before ping, the configurator before the speaker: each asks only once something answers.
    for (const service of services) await service.start()
    for (let i = 0; i < ORDERS; i++) {
      shop.callLater(300 + i * 1_000, () => shop.placeOrder({ orderId: `A-${i + 1}`, total: 10 * (i + 1) }))
    }
    const reason = await until(seconds * 1_000)
    logger.info(reason === 'signal' ? 'Interrupted: stopping the services' : 'Time is up: stopping the services')
    // The sources first, then a moment for the last results and relays to land.
    await Promise.all([ping.stop(), shop.stop()])
    await delay(300)
  } finally {
    await Promise.all(services.map((service) => service.stop()))
    // Logs are not confirmed: give the spy a moment to see the last "Shutting down…".
    await delay(200)
    await spy.close()
  }

  const total = [...counts.values()].reduce((sum, n) => sum + n, 0)
  const byKind = (['event', 'command', 'result', 'configuration', 'log', 'malformed'] as const)
    .filter((kind) => counts.has(kind))
    .map((kind) => plural(counts.get(kind) ?? 0, kind))
  logger.success(`${plural(total, 'message')} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${byKind.join(', ')}`)
  return EXIT.OK
}

function parseArgv(argv: string[]): { seconds: number; memory: boolean } | undefined {
  let values: { seconds?: string; help?: boolean; memory?: boolean }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { seconds: { type: 'string' }, help: { type: 'boolean' }, memory: { type: 'boolean' } },
    }))
  } catch (error) {
    logger.error(`${(error as Error).message}; ${USAGE}`)
    return undefined
  }
  if (values.help) {
    logger.log(USAGE)
    process.exit(EXIT.OK)
  }
  const seconds = Number(values.seconds ?? DEFAULT_SECONDS)
  if (!Number.isFinite(seconds) || seconds <= 0) {
    logger.error(`--seconds must be a positive number, got ${values.seconds}; ${USAGE}`)
    return undefined
  }
  return { seconds, memory: values.memory ?? false }
}

/** Resolves after `ms`, or at the first SIGINT/SIGTERM; a second one ends the process at once. */
function until(ms: number): Promise<'time' | 'signal'> {
  return new Promise((resolve) => {
    const onSignal = (): void => {
      clearTimeout(timer)
      process.once('SIGINT', () => process.exit(EXIT.INTERRUPTED))
      resolve('signal')
    }
    const timer = setTimeout(() => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve('time')
    }, ms)
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
}

const KIND_COLOURS: Record<SpiedKind, (text: string) => string> = {
  event: colors.cyan,
  command: colors.yellow,
  result: colors.green,
  configuration: colors.magenta,
  log: colors.gray,
  malformed: colors.red,
}

/** What the columns of a message line are, printed once before the first one. */
const LEGEND =
  'Columns: time (s), kind, routing key, conversation id (first 8 characters, - for none), sent by (? if not by this demo), payload (logs: level and text)'

/**
 * Which of the demo's services sent each message. The services publish through a supervisor made
 * by `recording`, which notes the sender of every publish (its connection is named `<service>@…`);
 * the spy's copy of the message is matched to it by exchange, routing key and body. A message
 * published by another process (a second demo on the same broker) has no match.
 */
class Senders {
  readonly #pending = new Map<string, string[]>()

  /** A supervisor factory that records the sender of every publish, around `factory`. */
  recording(factory: (options: SupervisorOptions) => SupervisorLike): (options: SupervisorOptions) => SupervisorLike {
    return (options) => {
      const bus = factory(options)
      const sender = (options.connectionName ?? '?').split('@')[0] ?? '?'
      const publish = bus.publish.bind(bus)
      bus.publish = (exchange, routingKey, body, publishOptions) => {
        const key = Senders.#key(exchange, routingKey, body)
        const list = this.#pending.get(key) ?? []
        list.push(sender)
        this.#pending.set(key, list)
        return publish(exchange, routingKey, body, publishOptions)
      }
      return bus
    }
  }

  /** The service that published `message`, or `?`. */
  senderOf(message: SpiedMessage): string {
    const key = Senders.#key(message.exchange, message.routingKey, message.body)
    const list = this.#pending.get(key)
    const sender = list?.shift()
    if (list && list.length === 0) this.#pending.delete(key)
    return sender ?? '?'
  }

  static #key(exchange: string, routingKey: string, body: Uint8Array): string {
    return `${exchange} ${routingKey} ${createHash('sha1').update(body).digest('hex')}`
  }
}

/** One line: time, kind, routing key, conversation id (short), sender, payload (short). */
function formatMessage(message: SpiedMessage, sender: string, elapsedMs: number): string {
  const time = colors.dim(`${(elapsedMs / 1000).toFixed(2).padStart(6)}s`)
  const kind = KIND_COLOURS[message.kind](message.kind.padEnd(13))
  const conversation = colors.dim((message.conversationId.slice(0, 8) || '-').padEnd(8))
  let summary = message.summary
  if (message.kind === 'result' && message.status !== 'success') summary = colors.red(`${message.status}: ${summary}`)
  if (message.kind === 'log') summary = `${levelColour(message.status)(message.status)} ${summary}`
  return `${time}  ${kind} ${message.routingKey.padEnd(24)} ${conversation}  ${sender.padEnd(12)}  ${summary}`
}

function levelColour(level: string): (text: string) => string {
  if (['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR'].includes(level)) return colors.red
  if (level === 'WARNING') return colors.yellow
  return colors.blue
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Consola at level info (it would drop to warn under a test runner), fancy on a terminal, plain lines otherwise. */
function createLogger(): ConsolaInstance {
  // `fancy` is a Node-only option, missing from the types the bundler resolution picks (browser).
  const fancy = { level: LogLevels.info, fancy: true }
  if (process.stdout.isTTY) return createConsola(fancy)
  return createConsola({ level: LogLevels.info, reporters: [plainReporter] })
}

/** Messages as they are on stdout; warnings and errors on stderr, prefixed with their type. */
const plainReporter: ConsolaReporter = {
  log(logObj) {
    const text = formatWithOptions({ colors: false }, ...logObj.args)
    if (logObj.level < LogLevels.log) process.stderr.write(`${logObj.type}: ${text}\n`)
    else process.stdout.write(`${text}\n`)
  },
}

/** Passes the framework's warnings and errors to consola, credentials hidden. */
function frameworkLogger(): Logger {
  const quiet = (): void => {}
  return {
    debug: quiet,
    info: quiet,
    warn: (message: unknown) => logger.warn(redactUrl(String(message))),
    error: (message: unknown) => logger.error(redactUrl(String(message))),
  }
}

// Last, so that every declaration above is initialised before main runs.
const logger = createLogger()
process.exitCode = await main(process.argv.slice(2)).catch((error: Error) => {
  logger.error(redactUrl(error.stack ?? error.message))
  return EXIT.FAILED
})
