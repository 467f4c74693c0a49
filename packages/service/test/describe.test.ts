import { Parser } from '@asyncapi/parser'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type AsyncApiDocument, type Handlers, type Publications, Service } from '../src/index.js'

const SignedUp = z.object({ userId: z.string() })
const Send = z.object({ userId: z.string(), text: z.string() })

class Welcome extends Service {
  readonly name = 'welcome'
  protected handlers(): Handlers {
    return {
      events: { 'user.SignedUp': { schema: SignedUp, handler: () => undefined }, 'audit.#': () => undefined },
      commands: { 'welcome.Send': { schema: Send, handler: () => undefined }, 'welcome.Ping': () => undefined },
      results: { 'welcome.Delivered': () => undefined },
      configurations: { 'welcome.Templates': () => true },
    }
  }
  protected override publishes(): Publications {
    return { events: { 'welcome.Sent': z.object({ userId: z.string() }) }, commands: { 'mailer.Deliver': true } }
  }
}

const options = { urls: 'amqp://127.0.0.1:1', handleSignals: false }

/** Parses a document with the official AsyncAPI parser; returns its error diagnostics (severity 0). */
async function errorsOf(document: AsyncApiDocument): Promise<string[]> {
  const parser = new Parser()
  const { diagnostics } = await parser.parse(JSON.stringify(document))
  return diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('/')}: ${d.message}`)
}

describe('describe(): an AsyncAPI 3.0 document', () => {
  it('is valid for @asyncapi/parser, with every kind, queue and reply', async () => {
    const doc = new Welcome(options).describe({ version: '1.2.3', servers: { local: { host: 'localhost:5672' } } })
    expect(await errorsOf(doc)).toEqual([])
    expect(doc.asyncapi).toBe('3.0.0')
    expect(doc.info.version).toBe('1.2.3')
    expect(doc.defaultContentType).toBe('application/cbor')
    expect(Object.keys(doc.operations as object).sort()).toEqual([
      'receive.command.welcome.Ping',
      'receive.command.welcome.Send',
      'receive.configuration.welcome.Templates',
      'receive.event.audit.hash',
      'receive.event.user.SignedUp',
      'receive.result.welcome.Delivered',
      'send.command.mailer.Deliver',
      'send.event.welcome.Sent',
      'send.log.welcome',
    ])
    const channels = doc.channels as Record<
      string,
      { address: string | null; bindings: { amqp: { exchange: { name: string } } } }
    >
    const addresses = Object.values(channels).map((c) => `${c.bindings.amqp.exchange.name} ${c.address}`)
    expect(addresses.sort()).toEqual([
      'commands mailer.Deliver',
      'commands null',
      'commands welcome.Delivered',
      'commands welcome.Ping',
      'commands welcome.Send',
      'configurations welcome.Templates',
      'events audit.#',
      'events user.SignedUp',
      'events welcome.Sent',
      'logs welcome.{level}',
    ])
    const operations = doc.operations as Record<string, Record<string, unknown>>
    expect(operations['receive.event.user.SignedUp']?.['x-am-queue']).toEqual({
      name: 'welcome.events',
      durable: true,
      type: 'classic',
      sharedByInstances: true,
    })
    expect(operations['receive.command.welcome.Send']?.reply).toEqual({
      address: { location: '$message.header#/reply_to', description: expect.stringContaining('reply_to') },
      channel: { $ref: '#/channels/commands.reply-to' },
      messages: [
        { $ref: '#/channels/commands.reply-to/messages/result.success' },
        { $ref: '#/channels/commands.reply-to/messages/result.error' },
        { $ref: '#/channels/commands.reply-to/messages/result.invalid_payload' },
      ],
    })
    const messages = (doc.components as { messages: Record<string, Record<string, unknown>> }).messages
    expect(messages['event.user.SignedUp']?.payload).toEqual({
      type: 'object',
      properties: { userId: { type: 'string' } },
      required: ['userId'],
      additionalProperties: false,
    })
    expect(messages['event.audit.hash']?.payload).toBeUndefined()
    expect(messages['result.success']?.headers).toMatchObject({ required: ['status', 'conversation_id'] })
    expect(messages['command.welcome.Send']?.headers).toMatchObject({ required: ['conversation_id'] })
    expect(messages['log.welcome.level']?.contentType).toBe('application/json')
  })

  it('is checked for real: the parser refuses a broken copy', async () => {
    const doc = new Welcome(options).describe()
    const operations = doc.operations as Record<string, Record<string, unknown>>
    ;(operations['send.log.welcome'] as Record<string, unknown>).action = 'publish'
    expect(await errorsOf(doc)).not.toEqual([])
  })

  it('says JSON when the service sends JSON, and converts schemas through the given converter', async () => {
    const custom = {
      '~standard': { version: 1 as const, vendor: 'custom', validate: (value: unknown) => ({ value }) },
    }
    class Custom extends Service {
      readonly name = 'custom'
      protected handlers(): Handlers {
        return { events: { E: { schema: custom, handler: () => undefined } } }
      }
    }
    const doc = new Custom({ ...options, json: true }).describe({
      jsonSchema: (schema) => (schema === custom ? { type: 'string' } : undefined),
    })
    expect(await errorsOf(doc)).toEqual([])
    expect(doc.defaultContentType).toBe('application/json')
    const messages = (doc.components as { messages: Record<string, Record<string, unknown>> }).messages
    expect(messages['event.E']?.payload).toEqual({ type: 'string' })
  })
})
