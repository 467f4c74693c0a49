import { RequestError } from '@am/service'
import { describe, expect, it } from 'vitest'
import { PING_REPLY_TO, Ping, Pong } from '../src/ping-pong.js'
import { peer, run, spy, waitFor } from './helpers.js'

describe('Pong and Ping', () => {
  it('echoes every ping: the success results reach Ping', async () => {
    await run((o) => new Pong(o))
    const ping = await run((o) => new Ping({ ...o, intervalMs: 50, failEvery: 0 }))
    await waitFor(() => ping.received.success >= 2, 10_000, 'two echoes')
    expect({ errors: ping.received.error, lastEcho: ping.lastEcho }).toEqual({
      errors: 0,
      lastEcho: expect.stringMatching(/^ping #\d+$/),
    })
  })

  it('answers pong.Fail with an error result, which Ping counts and logs as a WARNING in its conversation', async () => {
    const bus = await peer()
    const results = await spy(bus, 'commands', PING_REPLY_TO)
    const warnings = await spy(bus, 'logs', 'ping.WARNING')
    await run((o) => new Pong(o))
    const ping = await run((o) => new Ping({ ...o, intervalMs: 50, failEvery: 2 }))
    await waitFor(() => ping.received.error >= 1, 10_000, 'an error result')
    expect(ping.lastRefusal).toBe('ping #2 asked for an error')
    const refused = results.messages.find((m) => m.headers.status === 'error')
    const warning = await warnings.nth(1)
    expect({
      result: refused && results.payload(refused),
      log: warnings.log(warning).short_message,
      sameConversation: warnings.log(warning)._conversation_id === refused?.headers.conversation_id,
    }).toEqual({
      result: { reason: 'ping #2 asked for an error' },
      log: 'pong refused: ping #2 asked for an error',
      sameConversation: true,
    })
  })

  it('answers a request with its echo, and an invalid Echo with an error result', async () => {
    await run((o) => new Pong(o))
    const ping = await run((o) => new Ping({ ...o, intervalMs: 60_000 }))
    await expect(ping.request('pong.Echo', { message: 'hi' }, { conversationId: 'conv-1' })).resolves.toEqual({
      echo: 'hi',
    })
    const invalid = { message: 42 } as unknown as { message: string }
    const error = await ping.request('pong.Echo', invalid, { conversationId: 'conv-2' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RequestError)
    expect({ code: (error as RequestError).code, payload: (error as RequestError).payload }).toEqual({
      code: 'REQUEST_FAILED',
      payload: { reason: 'message must be a string' },
    })
  })
})
