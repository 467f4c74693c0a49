import { describe, expect, it, onTestFinished } from 'vitest'
import { startHttpPublisher } from '../src/http-publisher.js'
import { peer, spy, url } from './helpers.js'

async function start() {
  const running = await startHttpPublisher({ urls: url })
  onTestFinished(() => running.close())
  const post = async (path: string, body: string) => {
    const response = await fetch(`http://127.0.0.1:${running.port}${path}`, { method: 'POST', body })
    return { status: response.status, body: (await response.json()) as Record<string, string> }
  }
  return { running, post }
}

describe('the HTTP publisher', () => {
  it('answers 202 with the conversation id once OrderPlaced is confirmed', async () => {
    const bus = await peer()
    const placed = await spy(bus, 'events', 'OrderPlaced')
    const { post } = await start()
    const response = await post('/orders', '{"orderId":"W-1","total":12.5}')
    expect(response).toEqual({ status: 202, body: { conversationId: expect.stringMatching(/^[0-9a-f-]{36}$/) } })
    const message = await placed.nth(1)
    expect({
      headers: message.headers,
      contentType: message.properties.contentType,
      payload: placed.payload(message),
    }).toEqual({
      headers: { conversation_id: response.body.conversationId },
      contentType: 'application/cbor',
      payload: { orderId: 'W-1', total: 12.5 },
    })
  })

  it('answers 400 to a body that is not an order, and publishes nothing', async () => {
    const bus = await peer()
    const placed = await spy(bus, 'events', 'OrderPlaced')
    const { post } = await start()
    expect(await post('/orders', 'nope')).toEqual({
      status: 400,
      body: { error: 'the body must be JSON: {"orderId": string, "total": number}' },
    })
    expect(await post('/orders', '{"orderId":1}')).toEqual({
      status: 400,
      body: { error: 'the body must be {"orderId": string, "total": number}' },
    })
    expect(await post('/elsewhere', '{}')).toEqual({ status: 404, body: { error: 'not found: POST /orders' } })
    // A valid order afterwards is the first message the spy sees.
    await post('/orders', '{"orderId":"W-2","total":1}')
    expect(placed.payload(await placed.nth(1))).toEqual({ orderId: 'W-2', total: 1 })
  })
})
