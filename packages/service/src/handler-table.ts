import { type Batch, type BatchHost, batchOf } from './batch.js'
import type { CommandContext, MessageContext } from './context.js'
import { ServiceError } from './errors.js'
import type { DeclaredPublications } from './outputs.js'
import { HandlerTable } from './routing.js'
import { type AnySchema, isStandardSchema, type StandardSchemaV1 } from './schema.js'

/**
 * Payload types by routing key, per kind; declare them to type-check handlers and publishes. A
 * kind left out has no keys: a service that only handles events and sends commands declares
 * `events` and `commands` only.
 */
export interface ServiceMessages {
  events?: Record<string, unknown>
  commands?: Record<string, unknown>
  results?: Record<string, unknown>
  configurations?: Record<string, unknown>
}

/** Any routing key, any payload, for the four kinds: the default of the type parameters. */
export interface UntypedMessages {
  events: Record<string, unknown>
  commands: Record<string, unknown>
  results: Record<string, unknown>
  configurations: Record<string, unknown>
}

/** The payloads by routing key of one kind of `M`; none when `M` leaves the kind out. */
export type PayloadsOf<M extends ServiceMessages, K extends keyof ServiceMessages> = M extends {
  readonly [P in K]?: infer T
}
  ? T extends Record<string, unknown>
    ? T
    : Record<never, never>
  : Record<never, never>
/** The events of `M` by routing key. */
export type EventsOf<M extends ServiceMessages> = PayloadsOf<M, 'events'>
/** The commands of `M` by routing key. */
export type CommandsOf<M extends ServiceMessages> = PayloadsOf<M, 'commands'>
/** The results of `M` by reply-to key. */
export type ResultsOf<M extends ServiceMessages> = PayloadsOf<M, 'results'>
/** The configurations of `M` by routing key. */
export type ConfigurationsOf<M extends ServiceMessages> = PayloadsOf<M, 'configurations'>

/** Schemas by routing key, per kind: what {@link InferMessages} turns into payload types. */
export interface MessageSchemas {
  events?: Record<string, AnySchema>
  commands?: Record<string, AnySchema>
  results?: Record<string, AnySchema>
  configurations?: Record<string, AnySchema>
}

/**
 * The payload types that schemas give (their outputs), as a {@link ServiceMessages}.
 * @example
 * const schemas = { events: { 'user.SignedUp': z.object({ userId: z.string() }) } } satisfies MessageSchemas
 * class Welcome extends Service<InferMessages<typeof schemas>> { … }
 */
export type InferMessages<S extends MessageSchemas> = {
  [K in keyof S & keyof ServiceMessages]: {
    [R in keyof S[K]]: S[K][R] extends AnySchema ? StandardSchemaV1.InferOutput<S[K][R]> : never
  }
}

/**
 * A handler-table entry whose payload is checked by a Standard Schema (zod, valibot, arktype…)
 * before `handler` runs; `handler` gets the schema's output. An invalid command gets an error
 * result, an invalid event, result or configuration is dead-lettered; neither is retried.
 */
export interface Validated<P, H> {
  readonly schema: StandardSchemaV1<unknown, P>
  readonly handler: H
}

/** A handler-table entry: the handler, or `{ schema, handler }`. */
export type Entry<P, H> = H | Validated<P, H>

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
  events?: { [K in keyof EventsOf<M> & string]?: Entry<EventsOf<M>[K], MessageHandler<EventsOf<M>[K], M>> }
  commands?: { [K in keyof CommandsOf<M> & string]?: Entry<CommandsOf<M>[K], CommandHandler<CommandsOf<M>[K], M>> }
  results?: { [K in keyof ResultsOf<M> & string]?: Entry<ResultsOf<M>[K], MessageHandler<ResultsOf<M>[K], M>> }
  configurations?: {
    [K in keyof ConfigurationsOf<M> & string]?: Entry<
      ConfigurationsOf<M>[K],
      ConfigurationHandler<ConfigurationsOf<M>[K], M>
    >
  }
}

/**
 * What a service declares it publishes, by kind and routing key: a schema, or `true` for a key
 * without one. It completes `describe()`; with `validateOutputs` the schemas check the payloads
 * before they are sent, and with `strictPublications` a key left out cannot be published.
 * (Results go to the reply-to of each command: they are not declared here.)
 */
export interface Publications<M extends ServiceMessages = UntypedMessages> {
  events?: { [K in keyof EventsOf<M> & string]?: StandardSchemaV1<unknown, EventsOf<M>[K]> | true }
  commands?: { [K in keyof CommandsOf<M> & string]?: StandardSchemaV1<unknown, CommandsOf<M>[K]> | true }
  configurations?: {
    [K in keyof ConfigurationsOf<M> & string]?: StandardSchemaV1<unknown, ConfigurationsOf<M>[K]> | true
  }
}

/** @internal A handler of any kind, as the tables hold it. */
export type AnyHandler = (payload: unknown, ctx: never) => unknown

/** @internal One entry of the lookup tables: its handler, and its schema when it has one. */
export interface TableEntry {
  readonly handler: AnyHandler
  readonly schema: AnySchema | undefined
}

/** @internal The queue a delivery came from (results come on the commands queue). */
export type Origin = 'events' | 'commands' | 'configurations'

/** @internal The handler tables by origin, and `results`. */
export type HandlerTables = Record<Origin | 'results', HandlerTable<TableEntry>>

/**
 * Reads one handler-table entry of service `name`: a function, or `{ schema, handler }`.
 * @internal
 */
export function readEntry(name: string, key: string, entry: unknown): TableEntry {
  if (typeof entry === 'function') return { handler: entry as AnyHandler, schema: undefined }
  if (typeof entry === 'object' && entry !== null && 'handler' in entry) {
    const { handler, schema } = entry as { handler: unknown; schema?: unknown }
    if (typeof handler !== 'function') {
      throw new ServiceError('SERVICE_INVALID', `the handler of '${key}' in ${name} is not a function`)
    }
    if (schema !== undefined && !isStandardSchema(schema)) {
      throw new ServiceError(
        'SERVICE_INVALID',
        `the schema of '${key}' in ${name} is not a Standard Schema v1 (zod ≥ 3.24, valibot ≥ 1, arktype…)`,
      )
    }
    return { handler: handler as AnyHandler, schema }
  }
  throw new ServiceError('SERVICE_INVALID', `the handler of '${key}' in ${name} is not a function`)
}

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
  ): HandlerTable<TableEntry> => {
    const pairs: Array<[string, TableEntry]> = []
    for (const [key, given] of Object.entries(entries ?? {})) {
      const entry = readEntry(name, key, given)
      const batched = batchOf(entry.handler)
      if (batched) {
        if (origin === 'configurations') {
          throw new ServiceError('SERVICE_INVALID', `the configuration '${key}' in ${name} cannot be batched`)
        }
        batched.attach(host, key)
        batches.push(batched)
      }
      pairs.push([key, entry])
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

/**
 * Checks the declared publications of service `name` and indexes them by kind and key.
 * @internal
 */
export function readPublications(name: string, publications: Publications<never> | undefined): DeclaredPublications {
  const read = (kind: keyof DeclaredPublications): Map<string, AnySchema | true> => {
    const declared = new Map<string, AnySchema | true>()
    for (const [key, schema] of Object.entries((publications?.[kind] ?? {}) as Record<string, unknown>)) {
      if (schema !== true && !isStandardSchema(schema)) {
        throw new ServiceError(
          'SERVICE_INVALID',
          `the publication '${key}' of ${name} must be a Standard Schema v1 or true (no schema)`,
        )
      }
      declared.set(key, schema)
    }
    return declared
  }
  return { events: read('events'), commands: read('commands'), configurations: read('configurations') }
}
