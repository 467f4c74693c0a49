// The example of the repository README, kept compiling and working (README.md "Writing a service").
import { describe, expect, it } from 'vitest'
import { commandProperties, configurationProperties, eventProperties, type Handlers, Service } from '../src/index.js'
import { cleanupQueues, peer, run, send, spy, uniqueName, waitFor } from './helpers.js'

/** Message types by routing key: handlers and publishes are type-checked against them. */
interface Messages {
  events: { AudioUploaded: { audioId: string }; AudioQueued: { audioId: string } }
  commands: { 'pong.Echo': { message: string } }
  results: { 'pong.TranscribeReturn': { text: string } }
  configurations: { EchoMessagesDefined: { messages: string[] }; EchoMessagesRequested: Record<string, never> }
}

export class Pong extends Service<Messages> {
  readonly name = 'pong' // queues pong.events / pong.commands, logs pong.<LEVEL>
  private messages: string[] = []

  protected handlers(): Handlers<Messages> {
    return {
      commands: {
        // A command: answer its reply-to with a result in the same conversation.
        'pong.Echo': async (payload, ctx) => {
          if (!payload.message) return void (await ctx.returnError({ reason: 'empty message' })) // an expected error
          await ctx.returnSuccess({ echo: payload.message })
        },
      },
      results: {
        // The result of a command we sent with replyTo 'pong.TranscribeReturn'.
        'pong.TranscribeReturn': (payload, ctx) => {
          ctx.log('INFO', `transcribed: ${payload.text}`)
          return ctx.status === 'success' ? 'ack' : 'drop'
        },
      },
      events: {
        // Acked only once AudioQueued is confirmed by the broker.
        AudioUploaded: (payload, ctx) => ctx.publishEvent('AudioQueued', { audioId: payload.audioId }),
      },
      configurations: {
        // Until a configuration handler returns true, only configurations are consumed.
        EchoMessagesDefined: (payload) => {
          this.messages = payload.messages
          return this.messages.length > 0
        },
      },
    }
  }

  protected override onUnconfigured(): Promise<void> {
    return this.publishConfiguration('EchoMessagesRequested', {})
  }

  protected override onReady(): void {
    this.callLater(60_000, () => this.log('NOTICE', "I'm fine!"))
  }
}

describe('the README example', () => {
  it('asks for its configuration, then echoes and relays', async () => {
    cleanupQueues('pong')
    const bus = await peer()
    const requests = await spy(bus, 'configurations', 'EchoMessagesRequested')
    const pong = await run((o) => new Pong({ ...o, prefetch: 10 }))
    await requests.nth(1)
    expect(pong.state).toBe('unconfigured')
    await send(bus, 'configurations', 'EchoMessagesDefined', { messages: ['hi'] }, configurationProperties())
    await waitFor(() => pong.state === 'ready')

    const replyTo = uniqueName('ping.EchoReturn')
    const replies = await spy(bus, 'commands', replyTo)
    const relayed = await spy(bus, 'events', 'AudioQueued')
    await send(bus, 'commands', 'pong.Echo', { message: 'hello' }, commandProperties('conv-echo', replyTo, 'corr-1'))
    await send(bus, 'commands', 'pong.Echo', { message: '' }, commandProperties('conv-empty', replyTo, 'corr-2'))
    await send(bus, 'events', 'AudioUploaded', { audioId: 'a-42' }, eventProperties('conv-audio'))
    const [ok, empty, queued] = [await replies.nth(1), await replies.nth(2), await relayed.nth(1)]
    expect(
      [ok, empty, queued].map((m) => ({
        routingKey: m.routingKey,
        headers: m.headers,
        correlationId: m.properties.correlationId,
        payload: replies.payload(m),
      })),
    ).toEqual([
      {
        routingKey: replyTo,
        headers: { status: 'success', conversation_id: 'conv-echo' },
        correlationId: 'corr-1',
        payload: { echo: 'hello' },
      },
      {
        routingKey: replyTo,
        headers: { status: 'error', conversation_id: 'conv-empty' },
        correlationId: 'corr-2',
        payload: { reason: 'empty message' },
      },
      {
        routingKey: 'AudioQueued',
        headers: { conversation_id: 'conv-audio' },
        correlationId: '',
        payload: { audioId: 'a-42' },
      },
    ])
    await pong.stop()
    // nothing else was sent
    expect([replies.messages.length, relayed.messages.length]).toEqual([2, 1])
  })
})
