import { type Batch, type BatchHost, batchOf } from './batch.js'
import type { CommandContext, MessageContext } from './context.js'
import { ServiceError } from './errors.js'
import { HandlerTable } from './routing.js'

/** Payload types by routing key, per kind; declare them to type-check handlers and publishes. */
export interface ServiceMessages {
  events: Record<string, unknown>
  commands: Record<string, unknown>
  results: Record<string, unknown>
  configurations: Record<string, unknown>
}

/** Any routing key, any payload: the default of the type parameters (the same as {@link ServiceMessages}). */
export type UntypedMessages = ServiceMessages

/**
 * What a handler returns: nothing or `'ack'` to acknowledge once its publishes are confirmed,
 * `'requeue'` to put the message back, `'drop'` to dead-letter it. A throw means: requeue once,
 * then dead-letter.
 */
export type Outcome = 'ack' | 'requeue' | 'drop' | undefined

/** A handler may also return nothing at all (`async (p) => { … }`). */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers written without a return statement return void
type HandlerVoid = void

/** Handler of an event or a result. */
export type MessageHandler<P, M extends ServiceMessages = UntypedMessages> = (
  payload: P,
  ctx: MessageContext<M>,
) => Outcome | HandlerVoid | Promise<Outcome | HandlerVoid>
/** Handler of a command. */
export type CommandHandler<P, M extends ServiceMessages = UntypedMessages> = (
  payload: P,
  ctx: CommandContext<M>,
) => Outcome | HandlerVoid | Promise<Outcome | HandlerVoid>
/** Handler of a configuration: true when the service is now configured. */
export type ConfigurationHandler<P, M extends ServiceMessages = UntypedMessages> = (
  payload: P,
  ctx: MessageContext<M>,
) => boolean | undefined | Promise<boolean | undefined>

/**
 * The handler table: its keys are the subscriptions (routing keys or topic patterns with `*`/`#`).
 * `results` keys are the reply-to keys of the commands this service sends.
 */
export interface Handlers<M extends ServiceMessages = UntypedMessages> {
  events?: { [K in keyof M['events'] & string]?: MessageHandler<M['events'][K], M> }
  commands?: { [K in keyof M['commands'] & string]?: CommandHandler<M['commands'][K], M> }
  results?: { [K in keyof M['results'] & string]?: MessageHandler<M['results'][K], M> }
  configurations?: { [K in keyof M['configurations'] & string]?: ConfigurationHandler<M['configurations'][K], M> }
}

/** @internal A handler of any kind, as the tables hold it. */
export type AnyHandler = (payload: unknown, ctx: never) => unknown

/** @internal The queue a delivery came from (results come on the commands queue). */
export type Origin = 'events' | 'commands' | 'configurations'

/** @internal The handler tables by origin, and `results`. */
export type HandlerTables = Record<Origin | 'results', HandlerTable<AnyHandler>>

/**
 * Checks the handler table of service `name` and builds its lookup tables; its `batch()` entries
 * are bound to `host`.
 * @internal
 */
export function buildHandlerTables(
  name: string,
  handlers: Handlers<never>,
  host: BatchHost,
): { tables: HandlerTables; batches: Batch[] } {
  const batches: Batch[] = []
  const build = (
    entries: Record<string, unknown> | undefined,
    origin: Origin | 'results',
  ): HandlerTable<AnyHandler> => {
    const pairs: Array<[string, AnyHandler]> = []
    for (const [key, handler] of Object.entries(entries ?? {})) {
      if (typeof handler !== 'function') {
        throw new ServiceError('SERVICE_INVALID', `the handler of '${key}' in ${name} is not a function`)
      }
      const batched = batchOf(handler)
      if (batched) {
        if (origin === 'configurations') {
          throw new ServiceError('SERVICE_INVALID', `the configuration '${key}' in ${name} cannot be batched`)
        }
        batched.attach(host, key)
        batches.push(batched)
      }
      pairs.push([key, handler as AnyHandler])
    }
    return new HandlerTable(pairs)
  }
  const tables: HandlerTables = {
    events: build(handlers.events, 'events'),
    commands: build(handlers.commands, 'commands'),
    results: build(handlers.results, 'results'),
    configurations: build(handlers.configurations, 'configurations'),
  }
  return { tables, batches }
}
