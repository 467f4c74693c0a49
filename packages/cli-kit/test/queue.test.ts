import { uniqueName } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { connectBus, countReadyMessages } from '../src/index.js'
import { createMemoryContext } from '../src/testing.js'

const url = inject('amqpUrl')

describe('countReadyMessages', () => {
  it('counts the ready messages of a queue', async () => {
    const queue = uniqueName('kit-ready')
    const bus = await connectBus(createMemoryContext().ctx, url, {
      tool: 'kit-test',
      topology: { exchanges: [], queues: [{ key: 'q', name: queue, durable: false, autoDelete: true }], bindings: [] },
    })
    onTestFinished(() => bus.destroy())
    await bus.publish('', queue, Buffer.from('1'))
    await bus.publish('', queue, Buffer.from('2'))
    expect(await countReadyMessages(bus, queue)).toBe(2)
  })

  it('fails with CLI_FAILED (exit 1) for a queue that does not exist', async () => {
    const bus = await connectBus(createMemoryContext().ctx, url, { tool: 'kit-test' })
    onTestFinished(() => bus.destroy())
    const missing = uniqueName('kit-missing')
    await expect(countReadyMessages(bus, missing)).rejects.toMatchObject({
      code: 'CLI_FAILED',
      exitCode: 1,
      message: `queue "${missing}" does not exist on this vhost: check its name`,
    })
  })
})
