import { uniqueName } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { createSupervisor, defineTopology, type FetchedMessage } from '../src/index.js'

const url = inject('amqpUrl')

describe('Supervisor.browse', () => {
  it('takes messages one at a time; acked ones leave, nacked ones are dropped, the others go back flagged redelivered', async () => {
    const queue = uniqueName('browsed')
    const topology = defineTopology({ queues: [{ key: 'q', name: queue, durable: false, autoDelete: false }] })
    const bus = createSupervisor({ urls: url, topology })
    onTestFinished(async () => {
      await bus.withChannel((channel) => channel.deleteQueue(queue)).catch(() => undefined)
      await bus.destroy()
    })
    await bus.ready()
    for (const body of ['one', 'two', 'three']) {
      await bus.publish('', queue, Buffer.from(body), { headers: { n: body }, contentType: 'text/plain' })
    }
    let kept: FetchedMessage | undefined
    const seen = await bus.browse(queue, async (browser) => {
      const bodies: Array<[string, number, boolean, string, unknown]> = []
      for (let message = await browser.get(); message; message = await browser.get()) {
        const body = message.content.toString()
        bodies.push([
          body,
          message.fields.messageCount,
          message.fields.redelivered,
          message.fields.routingKey,
          message.properties.headers?.n,
        ])
        if (body === 'one') browser.ack(message)
        else if (body === 'two') browser.nack(message, false)
        else kept = message
      }
      return bodies
    })
    expect(seen).toEqual([
      ['one', 2, false, queue, 'one'],
      ['two', 1, false, queue, 'two'],
      ['three', 0, false, queue, 'three'],
    ])
    const after = await bus.browse(queue, async (browser) => {
      const message = await browser.get()
      return [message?.content.toString(), message?.fields.redelivered, await browser.get()]
    })
    expect(after).toEqual(['three', true, undefined])
    // the browser's channel is closed: settling one of its messages is a typed error
    const late = await bus.browse(queue, async (browser) => browser)
    expect(() => late.ack(kept as FetchedMessage)).toThrowError(expect.objectContaining({ code: 'CHANNEL_CLOSED' }))
  })

  it('rejects with TOPOLOGY_NOT_FOUND for a queue that does not exist', async () => {
    const bus = createSupervisor({ urls: url })
    onTestFinished(() => bus.destroy())
    await bus.ready()
    const missing = uniqueName('missing')
    await expect(bus.browse(missing, (browser) => browser.get())).rejects.toMatchObject({
      code: 'TOPOLOGY_NOT_FOUND',
      message: expect.stringContaining(`queue '${missing}' not found`),
    })
  })
})
