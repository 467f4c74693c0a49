import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { type Delivery, defineTopology, type Supervisor } from '@am/bus-core'
import {
  type CliContext,
  CliError,
  connectBus,
  formatDuration,
  ndjsonContext,
  publishMandatory,
  readPayload,
  toJsonSafe,
  withDeadline,
  writeNdjson,
} from '@am/cli-kit'
import { decode } from '@am/codec'
import { commandProperties, EXCHANGES, headerText } from '@am/protocol'

/** Positional arguments of `am-send-command`. */
export interface SendCommandArgs {
  url: string
  /** `<service>.<Command>`: the routing key on `commands`. */
  command: string
  /** `*.json`, `*.cbor`, or `-` for JSON on stdin. */
  payloadFile: string
}

/** Options of `am-send-command`. */
export interface SendCommandOptions {
  /** @default `debug-<uuid>` */
  conversationId?: string
  /** How long to wait for the result (confirm included), in ms. */
  timeoutMs: number
  connectTimeoutMs: number
  ndjson: boolean
  /** Where `-` reads from. @default process.stdin */
  stdin?: NodeJS.ReadableStream
}

/** The outcome; also the NDJSON line. */
export interface SendCommandResult {
  /** The result's `status` header (`success`, `error`, or what a foreign service sent), or `unroutable` / `nacked` / `timeout`. */
  status: string
  correlationId: string
  conversationId: string
  /** The decoded result payload (`null` without a result). */
  payload: unknown
  /** From publishing the command to receiving its result (or giving up). */
  elapsedMs: number
  /** The result's headers, `status` and `conversation_id` included. */
  headers: Record<string, unknown>
}

/**
 * Sends a command from a payload file (in the file's encoding) with a unique correlation id and a
 * private reply key bound to an exclusive queue, so that concurrent runs never take each other's
 * results; waits for the result with that correlation id (others are ignored), at most
 * `timeoutMs`. An unroutable command is reported at once. The reply queue is exclusive: it goes
 * with the connection, whatever the outcome.
 * @throws {CliError} `CLI_TIMEOUT` when no result came in time (after writing the NDJSON line),
 *   saying whether the command was routed, to which queue when it is the service's
 *   `<service>.commands`, and that the service may still handle it later.
 */
export async function sendCommand(
  ctx: CliContext,
  args: SendCommandArgs,
  options: SendCommandOptions,
): Promise<SendCommandResult> {
  const out = options.ndjson ? ndjsonContext(ctx) : ctx
  const payload = await readPayload(args.payloadFile, options.stdin ?? process.stdin)
  const correlationId = randomUUID()
  const conversationId = options.conversationId ?? `debug-${randomUUID()}`
  const replyTo = `debug.return.${correlationId}`
  const bus = await connectBus(out, args.url, {
    tool: 'send-command',
    topology: defineTopology({
      exchanges: [{ name: EXCHANGES.commands, type: 'topic' }],
      queues: [{ key: 'results', name: '' }],
      bindings: [{ queue: 'results', exchange: EXCHANGES.commands, routingKey: replyTo }],
    }),
    connectTimeoutMs: options.connectTimeoutMs,
  })
  const base = { correlationId, conversationId }
  let finish!: (delivery: Delivery) => void
  const arrived = new Promise<Delivery>((resolve) => {
    finish = resolve
  })
  let result: SendCommandResult
  try {
    await bus.consume(
      'results',
      (delivery) => {
        const theirs = headerText(delivery.properties.correlationId)
        if (theirs === correlationId) finish(delivery)
        else out.logger.warn(`ignoring a message on ${replyTo} with correlation id ${JSON.stringify(theirs ?? null)}`)
      },
      { noAck: true },
    )
    const started = performance.now()
    const elapsed = (): number => Math.round(performance.now() - started)
    let routed = false
    const exchange = async (): Promise<Pick<SendCommandResult, 'status' | 'payload' | 'headers'>> => {
      const published = await publishMandatory(
        bus,
        EXCHANGES.commands,
        args.command,
        payload.bytes,
        commandProperties(conversationId, replyTo, correlationId, payload.contentType),
        { signal: ctx.signal },
      )
      if (published !== 'confirmed') return { status: published, payload: null, headers: {} }
      routed = true
      return readResult(out, await arrived)
    }
    try {
      const outcome = await withDeadline(exchange(), {
        signal: ctx.signal,
        timeoutMs: options.timeoutMs,
        what: `the result of ${args.command} (correlation id ${correlationId})`,
      })
      result = {
        status: outcome.status,
        ...base,
        payload: outcome.payload,
        elapsedMs: elapsed(),
        headers: outcome.headers,
      }
    } catch (error) {
      if (!(error instanceof CliError && error.code === 'CLI_TIMEOUT')) throw error
      if (options.ndjson) {
        writeNdjson(out, { status: 'timeout', ...base, payload: null, elapsedMs: elapsed(), headers: {} })
      }
      const where = routed ? await describeRoute(bus, args.command) : undefined
      throw new CliError('CLI_TIMEOUT', timeoutMessage(args.command, correlationId, options.timeoutMs, where), {
        cause: error,
      })
    }
  } catch (error) {
    await bus.destroy()
    throw error
  }
  await bus.close()
  report(out, args.command, result, options.ndjson)
  return result
}

/**
 * Where a routed command went, when it is cheap to find: eventail's `<service>.commands` queue,
 * with its consumers and ready messages (a passive declaration); `routed` alone otherwise.
 */
async function describeRoute(bus: Supervisor, command: string): Promise<string> {
  const queue = `${command.split('.')[0]}.commands`
  const check = bus.checkQueue(queue).then(
    (ok) => `to queue ${queue} (${plural(ok.consumerCount, 'consumer')}, ${plural(ok.messageCount, 'message')} ready)`,
    () => undefined,
  )
  let timer: NodeJS.Timeout | undefined
  const giveUp = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), 1_000)
  })
  const found = await Promise.race([check, giveUp]).finally(() => clearTimeout(timer))
  return found ? `was routed ${found}` : `was routed (to a queue other than ${queue})`
}

function timeoutMessage(command: string, correlationId: string, timeoutMs: number, where: string | undefined): string {
  const head = `no result for ${command} within ${formatDuration(timeoutMs)} (correlation id ${correlationId})`
  if (where === undefined) {
    return `${head}: the broker did not confirm the command, which may or may not have been routed; the reply queue is deleted, so a late result is lost`
  }
  return `${head}: the command ${where}, so its service is down, still unconfigured or slow; it may still handle the command later, but the reply queue is deleted, so the result is lost`
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}

function readResult(ctx: CliContext, delivery: Delivery): Pick<SendCommandResult, 'status' | 'payload' | 'headers'> {
  const headers = delivery.headers
  const status = headerText(headers.status) ?? ''
  let payload: unknown
  try {
    payload = decode(delivery.body, delivery.properties.contentType as string | undefined)
  } catch (error) {
    ctx.logger.warn(`the result's payload cannot be decoded (${(error as Error).message}); showing its bytes`)
    payload = new Uint8Array(delivery.body)
  }
  return { status, payload, headers }
}

function report(ctx: CliContext, command: string, result: SendCommandResult, ndjson: boolean): void {
  if (ndjson) writeNdjson(ctx, result)
  const ids = `correlation id ${result.correlationId}, conversation id ${result.conversationId}`
  if (result.status === 'unroutable') {
    ctx.logger.error(`no queue is bound for command ${command}: is the service ${command.split('.')[0]} running?`)
    return
  }
  if (result.status === 'nacked') {
    ctx.logger.error(`the broker refused command ${command} (nack): a queue limit or a broker alarm`)
    return
  }
  const line = `${result.status || '(no status)'} in ${result.elapsedMs} ms (${ids})`
  if (result.status === 'success') ctx.logger.success(line)
  else ctx.logger.error(line)
  if (!ndjson) ctx.logger.log(JSON.stringify(toJsonSafe(result.payload), null, 2))
}
