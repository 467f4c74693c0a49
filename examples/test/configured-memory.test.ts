// The configuration phase on the in-memory bus (@am/testing): no broker needed.
import { createHarness } from '@am/testing'
import { describe, expect, it } from 'vitest'
import { Configurator, Speaker } from '../src/configured.js'

describe('Speaker and Configurator on the memory bus', () => {
  it('stays unconfigured, its events waiting, until the configurator answers; then handles them', async () => {
    await using h = createHarness()
    const speaker = await h.start(Speaker)
    const waiting = await h.publishEvent('OrderRelayed', { orderId: 'A-7', total: 1, relayedBy: 'test' })
    expect({
      state: speaker.state,
      asked: h.published.filter((m) => m.kind === 'configuration').map((m) => m.routingKey),
      outcome: waiting.outcome,
    }).toEqual({ state: 'unconfigured', asked: ['EchoMessagesRequested'], outcome: 'queued' })

    await h.start(Configurator, { messages: ['Thanks!'] })
    await h.waitFor(() => h.logs.some((l) => l.shortMessage.startsWith('Thanks!')))
    expect({
      state: speaker.state,
      messages: speaker.messages,
      logs: h.logs
        .filter((l) => l.service === 'speaker')
        .map((l) => [l.shortMessage, l.conversationId])
        .sort(),
    }).toEqual({
      state: 'ready',
      messages: ['Thanks!'],
      logs: [
        ['Thanks! (order A-7)', waiting.conversationId],
        ['configured: Thanks!', ''],
      ],
    })
  })

  it('answers the request of a speaker that starts later', async () => {
    await using h = createHarness()
    await h.start(Configurator, { messages: ['Hello', 'Bonjour'] })
    const speaker = await h.start(Speaker)
    await h.waitFor(() => speaker.state === 'ready')
    expect(speaker.messages).toEqual(['Hello', 'Bonjour'])
  })

  it('keeps waiting when a definition holds no messages', async () => {
    await using h = createHarness()
    const speaker = await h.start(Speaker)
    await h.publishConfiguration('EchoMessagesDefined', { messages: [] })
    await h.publishConfiguration('EchoMessagesDefined', { nothing: true })
    expect(speaker.state).toBe('unconfigured')
    await h.publishConfiguration('EchoMessagesDefined', { messages: ['Hi', 7] })
    await h.waitFor(() => speaker.state === 'ready')
    expect(speaker.messages).toEqual(['Hi'])
  })

  it('starts unconfigured again after a reconnection, and asks again', async () => {
    await using h = createHarness()
    await h.start(Configurator)
    const speaker = await h.start(Speaker)
    await h.waitFor(() => speaker.state === 'ready')
    const states: string[] = []
    speaker.on('state', (s) => states.push(s))
    h.broker.dropConnections({ name: 'speaker' })
    await h.waitFor(() => speaker.state === 'ready')
    expect({
      states,
      requests: h.published.filter((m) => m.routingKey === 'EchoMessagesRequested').length,
    }).toEqual({ states: ['reconnecting', 'unconfigured', 'ready'], requests: 2 })
  })
})
