// Ping and Pong on the in-memory bus (@am/testing): no broker needed.
import { RequestError } from '@am/service'
import { createHarness, startService } from '@am/testing'
import { describe, expect, it } from 'vitest'
import { PING_REPLY_TO, Ping, Pong } from '../src/ping-pong.js'

describe('Pong on the memory bus', () => {
  it('echoes pong.Echo with a success result in the command conversation', async () => {
    await using h = await startService(Pong)
    const result = await h.sendCommand('pong.Echo', { message: 'hi' }, { conversationId: 'conv-1' })
    expect({ status: result.status, payload: result.payload, conversationId: result.conversationId }).toEqual({
      status: 'success',
      payload: { echo: 'hi' },
      conversationId: 'conv-1',
    })
  })

  it('answers an invalid Echo and pong.Fail with error results, not crashes', async () => {
    await using h = await startService(Pong)
    const invalid = await h.sendCommand('pong.Echo', { message: 42 })
    const failed = await h.sendCommand('pong.Fail', { reason: 'asked' })
    expect([
      [invalid.status, invalid.payload],
      [failed.status, failed.payload],
      h.logs.filter((l) => l.level === 'ALERT' || l.level === 'EMERGENCY').length,
      h.deadLetters.length,
    ]).toEqual([['error', { reason: 'message must be a string' }], ['error', { reason: 'asked' }], 0, 0])
  })
})

describe('Ping and Pong on the memory bus', () => {
  it('sends a command each interval (fake time) and counts the echoes', async () => {
    await using h = createHarness({ fakeTime: true })
    await h.start(Pong)
    const ping = await h.start(Ping, { intervalMs: 1_000, failEvery: 0 })
    await h.clock.advance(999)
    expect(ping.received.success).toBe(0)
    await h.clock.advance(2_001)
    expect({
      success: ping.received.success,
      lastEcho: ping.lastEcho,
      health: h.logs.map((l) => l.shortMessage),
    }).toEqual({
      success: 3,
      lastEcho: 'ping #3',
      health: ["I'm fine!"],
    })
  })

  it('logs a WARNING in the conversation of an error result', async () => {
    await using h = createHarness({ fakeTime: true })
    await h.start(Pong)
    const ping = await h.start(Ping, { intervalMs: 100, failEvery: 2 })
    await h.clock.advance(200)
    const refused = h.published.find((m) => m.kind === 'result' && m.status === 'error')
    expect({
      errors: ping.received.error,
      lastRefusal: ping.lastRefusal,
      result: refused && [refused.routingKey, refused.payload],
      warnings: h.logs
        .filter((l) => l.level === 'WARNING')
        .map((l) => [l.shortMessage, l.conversationId === refused?.conversationId]),
    }).toEqual({
      errors: 1,
      lastRefusal: 'ping #2 asked for an error',
      result: [PING_REPLY_TO, { reason: 'ping #2 asked for an error' }],
      warnings: [['pong refused: ping #2 asked for an error', true]],
    })
  })

  it('resolves request() with the echo and rejects it with the error result', async () => {
    await using h = createHarness()
    await h.start(Pong)
    const ping = await h.start(Ping, { intervalMs: 60_000 })
    await expect(ping.request('pong.Echo', { message: 'hi' }, { conversationId: 'c-1' })).resolves.toEqual({
      echo: 'hi',
    })
    const invalid = { message: 42 } as unknown as { message: string }
    const error = await ping.request('pong.Echo', invalid, { conversationId: 'c-2' }).catch((e: unknown) => e)
    expect([error instanceof RequestError, (error as RequestError).code, (error as RequestError).payload]).toEqual([
      true,
      'REQUEST_FAILED',
      { reason: 'message must be a string' },
    ])
  })

  it('warns that a ping was not delivered while no pong runs (the command comes back unroutable)', async () => {
    await using h = await startService(Ping, { fakeTime: true, service: { intervalMs: 100 } })
    await h.clock.advance(100)
    expect(h.logs.map((l) => `${l.level} ${l.shortMessage.replace(/:.*/, '')}`)).toEqual([
      "NOTICE I'm fine!",
      // the service's default handleReturnedMessage, then Ping's own warning
      'ERROR Unroutable message commands/pong.Echo',
      'WARNING ping #1 not delivered',
    ])
  })

  it('goes on after the connections drop: pong recovers and answers the next ping', async () => {
    await using h = createHarness({ fakeTime: true })
    const pong = await h.start(Pong)
    const ping = await h.start(Ping, { intervalMs: 100, failEvery: 0 })
    await h.clock.advance(100)
    h.broker.dropConnections()
    await h.waitFor(() => pong.state === 'ready' && ping.state === 'ready', { message: 'both services ready again' })
    await h.clock.advance(100)
    expect({ success: ping.received.success, generation: pong.supervisor?.generation }).toEqual({
      success: 2,
      generation: 2,
    })
  })
})
