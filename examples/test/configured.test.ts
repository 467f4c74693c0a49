import { configurationProperties, eventProperties } from '@am/service'
import { describe, expect, it } from 'vitest'
import { Configurator, Speaker } from '../src/configured.js'
import { delay, peer, run, send, spy, waitFor } from './helpers.js'

describe('Speaker and Configurator', () => {
  it('stays unconfigured, its events waiting, until the configurator answers; then handles them', async () => {
    const bus = await peer()
    const requests = await spy(bus, 'configurations', 'EchoMessagesRequested')
    const logs = await spy(bus, 'logs', 'speaker.INFO')
    const speaker = await run((o) => new Speaker(o))
    await requests.nth(1)
    await send(bus, 'events', 'OrderRelayed', { orderId: 'A-7', total: 1, relayedBy: 'test' }, eventProperties('c-7'))
    await delay(300)
    expect([speaker.state, logs.messages.length]).toEqual(['unconfigured', 0])

    await run((o) => new Configurator({ ...o, messages: ['Thanks!'] }))
    await waitFor(() => speaker.state === 'ready', 10_000, 'the speaker ready')
    expect(speaker.messages).toEqual(['Thanks!'])
    await logs.nth(2)
    // onReady and the first handler run concurrently: compare the logs in any order.
    const seen = logs.messages.map((m) => [logs.log(m).short_message, logs.log(m)._conversation_id])
    expect(seen.sort()).toEqual([
      ['Thanks! (order A-7)', 'c-7'],
      ['configured: Thanks!', ''],
    ])
  })

  it('answers the request of a speaker that starts later', async () => {
    await run((o) => new Configurator({ ...o, messages: ['Hello', 'Bonjour'] }))
    const speaker = await run((o) => new Speaker(o))
    await waitFor(() => speaker.state === 'ready', 10_000, 'the speaker ready')
    expect(speaker.messages).toEqual(['Hello', 'Bonjour'])
  })

  it('keeps waiting when a definition holds no messages', async () => {
    const bus = await peer()
    const definitions = await spy(bus, 'configurations', 'EchoMessagesDefined')
    const speaker = await run((o) => new Speaker(o))
    await send(bus, 'configurations', 'EchoMessagesDefined', { messages: [] }, configurationProperties())
    await send(bus, 'configurations', 'EchoMessagesDefined', { nothing: true }, configurationProperties())
    await definitions.nth(2)
    await delay(200)
    expect(speaker.state).toBe('unconfigured')
    await send(bus, 'configurations', 'EchoMessagesDefined', { messages: ['Hi', 7] }, configurationProperties())
    await waitFor(() => speaker.state === 'ready', 10_000, 'the speaker ready')
    expect(speaker.messages).toEqual(['Hi'])
  })
})
