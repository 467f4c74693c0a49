import { CBOR, type ContentType, JSON_CONTENT_TYPE } from '@am/codec'
import { EXCHANGES, LEVEL_NAMES, type MessageKind, serviceQueueName } from '@am/protocol'
import { type Handlers, type Publications, readEntry } from './handler-table.js'
import type { AnySchema } from './schema.js'

/** Options of `describe()`. */
export interface DescribeOptions {
  /** `info.version` of the document. @default '0.0.0' */
  version?: string
  /** `info.description`; a paragraph on the bus conventions is appended. */
  description?: string
  /**
   * Turns a schema into a JSON Schema (draft-07) when it does not implement Standard JSON Schema
   * itself (zod ≥ 4.2 does), e.g. `(s) => toJsonSchema(s)` of the library; `undefined`: not described.
   */
  jsonSchema?: (schema: AnySchema) => Record<string, unknown> | undefined
  /** Servers of the document, by id: `{ production: { host: 'rabbit:5672', pathname: '/prod' } }`. @default none */
  servers?: Record<string, { host: string; pathname?: string; description?: string }>
}

/** An AsyncAPI 3.0 document, as a plain JSON-serialisable object. */
export interface AsyncApiDocument {
  asyncapi: '3.0.0'
  info: { title: string; version: string; description: string }
  defaultContentType: string
  [field: string]: unknown
}

/** @internal What `describe()` reads from a service. */
export interface DescribedService {
  readonly name: string
  readonly handlers: Handlers<never>
  readonly publishes: Publications<never> | undefined
  readonly contentType: ContentType
  readonly exclusiveQueues: boolean
  readonly queueType: 'classic' | 'quorum'
}

type Json = Record<string, unknown>

const BINDING_VERSION = '0.3.0'
const PROPERTY_NOTE =
  'AMQP properties: delivery_mode 2 (persistent), content_type, correlation_id and reply_to (empty when unused).'

/** The headers of each kind (application headers of the AMQP message). */
const HEADERS: Record<MessageKind | 'log', Json | undefined> = {
  event: {
    type: 'object',
    properties: { conversation_id: { type: 'string', description: 'The conversation the message belongs to.' } },
    required: ['conversation_id'],
  },
  command: {
    type: 'object',
    properties: { conversation_id: { type: 'string', description: 'The conversation the command belongs to.' } },
    required: ['conversation_id'],
  },
  result: {
    type: 'object',
    properties: {
      status: {
        type: 'string',
        description: '`success` or `error` (an expected error, with the error in the payload).',
        examples: ['success', 'error'],
      },
      conversation_id: { type: 'string', description: 'The conversation of the command.' },
    },
    required: ['status', 'conversation_id'],
  },
  configuration: {
    type: 'object',
    properties: { conversation_id: { type: 'string', const: '', description: 'Always empty.' } },
  },
  log: undefined,
}

const GELF_PAYLOAD: Json = {
  type: 'object',
  description: 'A GELF 1.1 record, as eventail writes it (JSON, ASCII).',
  properties: {
    version: { type: 'string', const: '1.1' },
    short_message: { type: 'string' },
    full_message: { type: 'string' },
    level: { type: 'integer', minimum: 0, maximum: 7 },
    _levelname: { type: 'string', enum: [...LEVEL_NAMES] },
    host: { type: 'string', description: '`<service>@<hostname>`' },
    timestamp: { type: 'number', description: 'Seconds since the epoch.' },
    _conversation_id: { type: 'string' },
    _logical_service: { type: 'string' },
  },
  required: ['version', 'short_message', 'level', 'host', 'timestamp'],
}

const INVALID_PAYLOAD: Json = {
  type: 'object',
  description: "The error result's payload when a command does not match its schema.",
  properties: {
    error: { type: 'string', const: 'invalid_payload' },
    message: { type: 'string' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          path: {
            type: 'string',
            description: 'Dotted path of the failing value (`items.0.name`); empty for the payload.',
          },
          message: { type: 'string' },
        },
        required: ['path', 'message'],
      },
    },
  },
  required: ['error', 'message', 'issues'],
}

/** A name usable as a component or channel id (`^[\w.-]+$`): `*` and `#` spelled out, braces dropped. */
function idOf(text: string): string {
  return text
    .replaceAll('*', 'star')
    .replaceAll('#', 'hash')
    .replace(/[{}]/g, '')
    .replace(/[^\w.-]/g, '_')
}

/** A JSON Schema of `schema` (draft-07, as AsyncAPI's schema format extends it), or undefined. */
function jsonSchemaOf(schema: AnySchema | true | undefined, options: DescribeOptions): Json | undefined {
  if (schema === undefined || schema === true) return undefined
  let produced: Json | undefined
  try {
    const standard = schema['~standard'].jsonSchema
    produced = standard ? standard.output({ target: 'draft-07' }) : options.jsonSchema?.(schema)
  } catch {
    // A schema that cannot be expressed (a transform, a custom check…): the payload stays undescribed.
    produced = options.jsonSchema?.(schema)
  }
  if (produced === undefined) return undefined
  const { $schema: _, ...rest } = produced
  return rest
}

/**
 * The AsyncAPI 3.0 document of a service: what it consumes (its handler table) and what it
 * publishes (its declared publications and its logs), with exchanges, routing keys, queues, kinds,
 * headers, content types, payload JSON Schemas where a schema gives one, and the reply-to
 * convention of commands. Pure: nothing is connected.
 * @internal
 */
export function describeService(service: DescribedService, options: DescribeOptions = {}): AsyncApiDocument {
  const { name, handlers, publishes, contentType } = service
  const channels: Record<string, Json> = {}
  const operations: Record<string, Json> = {}
  const messages: Record<string, Json> = {}
  const other = contentType === CBOR ? JSON_CONTENT_TYPE : CBOR

  const message = (kind: MessageKind | 'log', key: string, payload: Json | undefined, extra: Json = {}): string => {
    const id = idOf(`${kind}.${key}`)
    const headers = HEADERS[kind]
    messages[id] = {
      name: key,
      title: `${kind} ${key}`,
      ...(kind === 'log' ? { contentType: JSON_CONTENT_TYPE } : {}),
      ...(headers ? { headers } : {}),
      ...(payload ? { payload } : {}),
      ...(payload || kind === 'log' ? {} : { description: 'The payload is not described: its entry has no schema.' }),
      bindings: { amqp: { messageType: kind, bindingVersion: BINDING_VERSION } },
      ...extra,
    }
    return id
  }
  const channel = (exchange: string, address: string | null, messageIds: string[], extra: Json = {}): string => {
    const id = idOf(`${exchange}.${address ?? 'reply-to'}`)
    const existing = channels[id]
    const refs = Object.fromEntries(messageIds.map((m) => [m, { $ref: `#/components/messages/${m}` }]))
    if (existing) {
      existing.messages = { ...(existing.messages as Json), ...refs }
      return id
    }
    channels[id] = {
      address,
      messages: refs,
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: { name: exchange, type: 'topic', durable: true, autoDelete: false },
          bindingVersion: BINDING_VERSION,
        },
      },
      ...extra,
    }
    return id
  }
  const refs = (channelId: string, messageIds: string[]): Json[] =>
    messageIds.map((m) => ({ $ref: `#/channels/${channelId}/messages/${m}` }))

  // Results go to the reply-to of each command: one channel whose address is that key.
  const replyIds = [message('result', 'success', {}), message('result', 'error', {})]
  const validatedCommands: string[] = []

  const queueOf = (queue: 'events' | 'commands' | 'configurations'): Json => {
    if (queue === 'configurations' || service.exclusiveQueues) {
      return { name: '', description: 'a server-named exclusive queue, declared at every connection' }
    }
    return { name: serviceQueueName(name, queue), durable: true, type: service.queueType, sharedByInstances: true }
  }

  const consumed = (
    kind: MessageKind,
    table: Record<string, unknown> | undefined,
    exchange: string,
    queue: 'events' | 'commands' | 'configurations',
  ): void => {
    for (const [key, given] of Object.entries(table ?? {})) {
      const { schema } = readEntry(name, key, given)
      const messageId = message(kind, key, jsonSchemaOf(schema, options))
      const channelId = channel(exchange, key, [messageId])
      const operation: Json = {
        action: 'receive',
        channel: { $ref: `#/channels/${channelId}` },
        title: `${kind} ${key}`,
        summary: `${name} handles the ${kind} ${key}${schema ? ', checked by its schema' : ''}.`,
        messages: refs(channelId, [messageId]),
        bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
        'x-am-queue': queueOf(queue),
      }
      if (kind === 'command') {
        if (schema) validatedCommands.push(key)
        operation.reply = {
          address: {
            location: '$message.header#/reply_to',
            description:
              "The command's AMQP reply_to property: the routing key of its result on the `commands` exchange.",
          },
          channel: { $ref: '#/channels/commands.reply-to' },
          messages: refs('commands.reply-to', schema ? [...replyIds, 'result.invalid_payload'] : replyIds),
        }
      }
      operations[idOf(`receive.${kind}.${key}`)] = operation
    }
  }

  const published = (kind: MessageKind, table: Record<string, unknown> | undefined, exchange: string): void => {
    for (const [key, schema] of Object.entries(table ?? {})) {
      const messageId = message(kind, key, jsonSchemaOf(schema as AnySchema | true, options))
      const channelId = channel(exchange, key, [messageId])
      operations[idOf(`send.${kind}.${key}`)] = {
        action: 'send',
        channel: { $ref: `#/channels/${channelId}` },
        title: `${kind} ${key}`,
        summary: `${name} publishes the ${kind} ${key}.`,
        messages: refs(channelId, [messageId]),
        bindings: {
          amqp: {
            deliveryMode: 2,
            mandatory: kind !== 'event' && kind !== 'configuration',
            bindingVersion: BINDING_VERSION,
          },
        },
      }
    }
  }

  consumed('event', handlers.events, EXCHANGES.events, 'events')
  consumed('command', handlers.commands, EXCHANGES.commands, 'commands')
  consumed('result', handlers.results, EXCHANGES.commands, 'commands')
  consumed('configuration', handlers.configurations, EXCHANGES.configurations, 'configurations')
  if (Object.keys(handlers.commands ?? {}).length > 0) {
    const ids =
      validatedCommands.length > 0 ? [...replyIds, message('result', 'invalid_payload', INVALID_PAYLOAD)] : replyIds
    channel(EXCHANGES.commands, null, ids, {
      description:
        "Results of the commands this service handles, published to each command's reply_to key with its correlation_id.",
    })
  }
  published('event', publishes?.events, EXCHANGES.events)
  published('command', publishes?.commands, EXCHANGES.commands)
  published('configuration', publishes?.configurations, EXCHANGES.configurations)

  const logId = message('log', `${name}.{level}`, GELF_PAYLOAD)
  const logChannel = channel(EXCHANGES.logs, `${name}.{level}`, [logId], {
    parameters: { level: { enum: [...LEVEL_NAMES], description: 'The syslog level name.' } },
  })
  operations[idOf(`send.log.${name}`)] = {
    action: 'send',
    channel: { $ref: `#/channels/${logChannel}` },
    title: 'logs',
    summary: `${name} logs to the bus (GELF, not confirmed).`,
    messages: refs(logChannel, [logId]),
  }

  const conventions = [
    `Service \`${name}\` of the Allo-Media bus (eventail-compatible).`,
    `Bodies are ${contentType} (${contentType === CBOR ? 'the default' : 'this service sends JSON'}); ${other} is read too, by content_type.`,
    'Every event, command and result carries the `conversation_id` header; results carry `status` (`success` or `error`).',
    "A command's result goes to the `commands` exchange with the command's reply_to as routing key and its correlation_id.",
    'Messages are acked after the outputs of their handler are confirmed; failures are retried once, then dead-lettered.',
    PROPERTY_NOTE,
  ].join(' ')
  return {
    asyncapi: '3.0.0',
    info: {
      title: name,
      version: options.version ?? '0.0.0',
      description: options.description ? `${options.description}\n\n${conventions}` : conventions,
    },
    ...(options.servers
      ? {
          servers: Object.fromEntries(
            Object.entries(options.servers).map(([id, server]) => [
              id,
              { ...server, protocol: 'amqp', protocolVersion: '0.9.1' },
            ]),
          ),
        }
      : {}),
    defaultContentType: contentType,
    channels,
    operations,
    components: { messages },
  }
}
