import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import { promisify } from 'node:util'
import { rabbitmqctl, uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { createSupervisor, defineTopology, setupDeadLettering } from '../src/index.js'

const url = inject('amqpUrl')
const vhost = decodeURIComponent(new URL(url).pathname.slice(1)) || '/'

async function supervisor() {
  const bus = createSupervisor({ urls: url })
  onTestFinished(() => bus.destroy())
  await bus.ready()
  return bus
}

function names() {
  const exchange = uniqueName('dlx')
  const queue = uniqueName('dead')
  onTestFinished(async () => {
    const bus = createSupervisor({ urls: url })
    await bus.withChannel(async (ch) => {
      await ch.deleteQueue(queue)
      await ch.deleteExchange(exchange)
    })
    await bus.close()
  })
  return { exchange, queue }
}

describe('setupDeadLettering', () => {
  it('applies the policy through the management API when it answers', async () => {
    const requests: Array<{ method?: string; url?: string; auth?: string; body: unknown }> = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        requests.push({ method: req.method, url: req.url, auth: req.headers.authorization, body: JSON.parse(body) })
        res.writeHead(201).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as { port: number }).port
    const { exchange, queue } = names()
    const result = await setupDeadLettering(await supervisor(), url, {
      exchange,
      queue,
      managementUrl: `http://127.0.0.1:${port}`,
    })
    expect(result).toEqual({
      exchange,
      queue,
      policy: 'applied',
      command: `rabbitmqctl set_policy -p ${vhost} DLX '^.*\\.(events|commands)$' '{"dead-letter-exchange":"${exchange}"}' --apply-to queues`,
    })
    expect(requests).toEqual([
      {
        method: 'PUT',
        url: `/api/policies/${encodeURIComponent(vhost)}/DLX`,
        auth: `Basic ${Buffer.from('guest:guest').toString('base64')}`,
        body: {
          pattern: '^.*\\.(events|commands)$',
          definition: { 'dead-letter-exchange': exchange },
          'apply-to': 'queues',
          priority: 0,
        },
      },
    ])
  })

  it('returns a rabbitmqctl command that really dead-letters, when the management API is unreachable', async () => {
    const { exchange, queue } = names()
    const policyName = uniqueName('AM-DLX-test')
    const victim = `${uniqueName('victim')}.events`
    const pattern = `^${victim.replace(/\./g, '\\.')}$`
    const bus = await supervisor()
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })
    const result = await setupDeadLettering(bus, url, {
      exchange,
      queue,
      policyName,
      pattern,
      managementUrl: `http://guest:secret@127.0.0.1:${closedPort}`,
    })
    expect(result).toMatchObject({
      policy: 'manual',
      reason: `management API unreachable at http://127.0.0.1:${closedPort}/: ECONNREFUSED`,
    })
    onTestFinished(() => rabbitmqctl('clear_policy', '-p', vhost, policyName).then(() => undefined))
    await promisify(execFile)('sh', ['-c', result.command])

    const topology = defineTopology({ queues: [{ key: 'victim', name: victim, durable: false, autoDelete: true }] })
    const live = createSupervisor({ urls: url, topology })
    onTestFinished(() => live.destroy())
    await live.ready()
    await live.consume('victim', (delivery) => delivery.nack(false))
    await live.publish('', victim, Buffer.from('doomed'), { headers: { conversation_id: 'c' } })
    const dead = await waitFor(
      () => bus.withChannel(async (ch) => ch.get(queue, { noAck: true })),
      10_000,
      'the message in the dead-letter queue',
    )
    expect({
      body: dead.content.toString(),
      exchange: dead.fields.exchange,
      firstDeathQueue: dead.properties.headers?.['x-first-death-queue'],
      reason: dead.properties.headers?.['x-first-death-reason'],
    }).toEqual({ body: 'doomed', exchange, firstDeathQueue: victim, reason: 'rejected' })
  })
})
