import { uniqueName } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { connectBus, createMemoryContext, publishMandatory } from '../src/index.js'

const url = inject('amqpUrl')

async function bus(exchange: string, queue?: { name: string; args?: Record<string, unknown> }) {
  const supervisor = await connectBus(createMemoryContext().ctx, url, {
    tool: 'kit-test',
    topology: {
      exchanges: [{ name: exchange, type: 'topic', autoDelete: true }],
      queues: queue ? [{ key: 'q', name: queue.name, durable: false, autoDelete: true, arguments: queue.args }] : [],
      bindings: queue ? [{ queue: 'q', exchange, routingKey: 'k' }] : [],
    },
  })
  onTestFinished(() => supervisor.destroy())
  return supervisor
}

describe('publishMandatory', () => {
  it('reports a confirmed publish', async () => {
    const exchange = uniqueName('kit-x')
    const supervisor = await bus(exchange, { name: uniqueName('kit-q') })
    await expect(publishMandatory(supervisor, exchange, 'k', Buffer.from('{}'), {})).resolves.toBe('confirmed')
  })

  it('reports an unroutable publish', async () => {
    const exchange = uniqueName('kit-x')
    const supervisor = await bus(exchange)
    await expect(publishMandatory(supervisor, exchange, 'nobody', Buffer.from('{}'), {})).resolves.toBe('unroutable')
  })

  it('reports a nacked publish', async () => {
    const exchange = uniqueName('kit-x')
    const supervisor = await bus(exchange, {
      name: uniqueName('kit-q'),
      args: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    })
    await expect(publishMandatory(supervisor, exchange, 'k', Buffer.from('{}'), {})).resolves.toBe('nacked')
  })
})
