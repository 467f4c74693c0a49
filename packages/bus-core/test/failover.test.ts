import { startCluster, type ThrowawayCluster, uniqueName, waitFor } from '@am/testkit'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createSupervisor, type Delivery, defineTopology, type SupervisorOptions } from '../src/index.js'

// Throwaway nodes on 5711+ (never the shared broker on 5672): they are stopped, restarted, blocked.
let cluster: ThrowawayCluster

beforeAll(async () => {
  cluster = await startCluster(2, 5710)
}, 240_000)

afterAll(async () => {
  await cluster?.stop()
}, 120_000)

function supervise(options: Partial<SupervisorOptions>) {
  const supervisor = createSupervisor({ urls: cluster.urls, connectionName: uniqueName('failover'), ...options })
  onTestFinished(() => supervisor.destroy())
  return supervisor
}

describe('Supervisor against nodes that stop, restart and block', () => {
  it('fails over round-robin to the next URL when its node stops, and consumes there', async () => {
    const exchange = uniqueName('fx')
    const topology = defineTopology({
      exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: true }],
      queues: [{ key: 'mine', name: '' }],
      bindings: [{ queue: 'mine', exchange, routingKey: '#' }],
    })
    const supervisor = supervise({ topology })
    const urls: string[] = []
    supervisor.on('connected', ({ url }) => urls.push(url))
    await supervisor.ready()
    const bodies: string[] = []
    await supervisor.consume('mine', (d: Delivery) => {
      bodies.push(d.body.toString())
      d.ack()
    })
    await supervisor.publish(exchange, 'k', Buffer.from('before'))
    await waitFor(() => bodies.includes('before'))

    let lostAt = 0
    supervisor.on('disconnected', () => {
      lostAt = Date.now()
    })
    await cluster.stopNode(1)
    await waitFor(() => urls.length === 2, 30_000, 'failover')
    const resumedMs = Date.now() - lostAt
    expect(urls).toEqual(['amqp://guest:***@127.0.0.1:5711/', 'amqp://guest:***@127.0.0.1:5712/'])
    await supervisor.publish(exchange, 'k', Buffer.from('after'))
    await waitFor(() => bodies.includes('after'))
    console.info(`failover: node stopped → consuming on the next node after ${resumedMs} ms`)
    await cluster.startNode(1)
  }, 120_000)

  it('comes back after its only node restarts, with the persistent messages it had confirmed', async () => {
    const exchange = uniqueName('rx')
    const queue = uniqueName('restart')
    const topology = defineTopology({
      exchanges: [{ name: exchange, type: 'topic' }],
      queues: [{ key: 'q', name: queue }],
      bindings: [{ queue: 'q', exchange, routingKey: '#' }],
    })
    const supervisor = supervise({ urls: [cluster.urls[1] as string], topology })
    await supervisor.ready()
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        supervisor.publish(exchange, 'k', Buffer.from(String(i)), { persistent: true }),
      ),
    )
    await cluster.stopNode(2)
    await waitFor(() => supervisor.state === 'reconnecting', 10_000)
    await cluster.startNode(2)
    await supervisor.ready()
    const received = new Set<string>()
    await supervisor.consume('q', (d) => {
      received.add(d.body.toString())
      d.ack()
    })
    await waitFor(() => received.size === 100, 10_000, 'the 100 messages after the restart')
    expect(supervisor.generation).toBe(2)
  }, 180_000)

  it('reports a blocked connection and recycles it after the blocked timeout', async () => {
    const exchange = uniqueName('bx')
    const topology = defineTopology({
      exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: true }],
    })
    const supervisor = supervise({ urls: [cluster.urls[0] as string], topology, blockedTimeoutMs: 500 })
    await supervisor.ready()
    const events: string[] = []
    supervisor.on('blocked', () => events.push('blocked'))
    supervisor.on('disconnected', () => events.push('disconnected'))
    await cluster.ctl(1, 'set_vm_memory_high_watermark', '0.0000001')
    onTestFinished(() => cluster.ctl(1, 'set_vm_memory_high_watermark', '0.4').then(() => undefined))
    const publish = supervisor.publish(exchange, 'k', Buffer.from('x')).catch((e: { code: string }) => e.code)
    await waitFor(() => events.includes('disconnected'), 15_000, 'the blocked connection to be recycled')
    expect(events.slice(0, 2)).toEqual(['blocked', 'disconnected'])
    expect(await publish).toBe('PUBLISH_CHANNEL_CLOSED')
  }, 60_000)
})
