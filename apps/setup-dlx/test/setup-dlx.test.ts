import { createSupervisor } from '@am/bus-core'
import { closedPort, createMemoryContext } from '@am/cli-kit/testing'
import { startCluster, uniqueName, waitFor } from '@am/testkit'
import { connect } from 'amqplib'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { setupDlx } from '../src/commands/setup-dlx.js'
import { dlxNames, fakeManagement } from './helpers.js'

const url = inject('amqpUrl')
const vhost = decodeURIComponent(new URL(url).pathname.slice(1)) || '/'
const base = { pattern: '^.*\\.(events|commands)$', policyName: 'DLX', connectTimeoutMs: 5_000, ndjson: false }

describe('setupDlx', () => {
  it('declares the exchange and queue and applies the policy through the management API', async () => {
    const names = dlxNames(url)
    const management = await fakeManagement()
    const memory = createMemoryContext()
    const result = await setupDlx(memory.ctx, { url }, { ...base, ...names, managementUrl: management.url })
    const command = `rabbitmqctl set_policy -p ${vhost} DLX '^.*\\.(events|commands)$' '{"dead-letter-exchange":"${names.exchange}"}' --apply-to queues`
    expect(result).toEqual({ ...names, policy: 'applied', command })
    expect(management.requests).toEqual([
      {
        method: 'PUT',
        url: `/api/policies/${encodeURIComponent(vhost)}/DLX`,
        headers: expect.objectContaining({ authorization: expect.stringMatching(/^Basic /) }),
        body: {
          pattern: base.pattern,
          definition: { 'dead-letter-exchange': names.exchange },
          'apply-to': 'queues',
          priority: 0,
        },
      },
    ])
    await using bus = createSupervisor({ urls: url })
    await expect(bus.checkQueue(names.queue)).resolves.toMatchObject({ queue: names.queue })
    expect(memory.messages).toEqual([
      {
        type: 'success',
        text: `exchange ${names.exchange} (topic, durable) and queue ${names.queue} (durable, bound with #) are declared`,
      },
      { type: 'success', text: `policy DLX applied: queues matching ${base.pattern} dead-letter to ${names.exchange}` },
    ])
  })

  it('prints the rabbitmqctl command when the management API does not answer', async () => {
    const names = dlxNames(url)
    const memory = createMemoryContext()
    const managementUrl = `http://admin:hunter2@127.0.0.1:${await closedPort()}/`
    const result = await setupDlx(memory.ctx, { url }, { ...base, ...names, managementUrl, ndjson: true })
    expect(result).toMatchObject({
      policy: 'manual',
      reason: expect.stringMatching(/^management API unreachable at http:\/\/127\.0\.0\.1:\d+\/: ECONNREFUSED$/),
    })
    expect(JSON.parse(memory.stdout())).toEqual(result)
    expect(memory.messages.slice(1)).toEqual([
      { type: 'warn', text: `the policy could not be applied: ${result.reason}` },
      { type: 'info', text: 'run this on a broker node (without it, rejected messages are discarded):' },
      { type: 'log', text: `  ${result.command}` },
    ])
    expect(JSON.stringify(memory.messages) + memory.stdout()).not.toContain('hunter2')
  })

  it('reports a refusal of the management API with the command to run', async () => {
    const names = dlxNames(url)
    const management = await fakeManagement(401)
    const result = await setupDlx(
      createMemoryContext().ctx,
      { url },
      { ...base, ...names, managementUrl: management.url },
    )
    expect(result).toMatchObject({ policy: 'manual', reason: 'management API answered 401 {"error":"not_authorised"}' })
  })

  // Its own node, with the management plugin: the policy lands in that node's vhost `/` and
  // nowhere else. Ports apart from the reliability suite's 5711+ (the nodes take turns anyway).
  it('applies the policy through a real management API, and rejected messages then dead-letter', {
    timeout: 300_000,
  }, async () => {
    const managementPort = 15751
    const cluster = await startCluster(1, 5750, {
      plugins: ['rabbitmq_management'],
      config: `management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = ${managementPort}`,
    })
    onTestFinished(() => cluster.stop())
    const nodeUrl = cluster.urls[0] as string
    const managementUrl = `http://guest:guest@127.0.0.1:${managementPort}/`
    // the management listener comes up with the plugin, a moment after the node reports started
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${managementPort}/api/overview`).catch(() => undefined))?.status === 401,
      60_000,
      'the management API',
    )
    const names = { exchange: uniqueName('dlx'), queue: uniqueName('dead') }
    const policyName = uniqueName('DLX')
    const pattern = '^orders\\.(events|commands)$'
    const memory = createMemoryContext()
    const result = await setupDlx(
      memory.ctx,
      { url: nodeUrl },
      { ...base, ...names, pattern, policyName, managementUrl },
    )
    expect(result).toEqual({
      ...names,
      policy: 'applied',
      command: `rabbitmqctl set_policy -p / ${policyName} '${pattern}' '{"dead-letter-exchange":"${names.exchange}"}' --apply-to queues`,
    })
    expect(memory.messages).toEqual([
      {
        type: 'success',
        text: `exchange ${names.exchange} (topic, durable) and queue ${names.queue} (durable, bound with #) are declared`,
      },
      {
        type: 'success',
        text: `policy ${policyName} applied: queues matching ${pattern} dead-letter to ${names.exchange}`,
      },
    ])
    expect(JSON.parse(await cluster.ctl(1, 'list_policies', '-p', '/', '--formatter', 'json'))).toEqual([
      {
        vhost: '/',
        name: policyName,
        pattern,
        'apply-to': 'queues',
        definition: JSON.stringify({ 'dead-letter-exchange': names.exchange }),
        priority: 0,
      },
    ])

    // the policy works: a message rejected from a matching queue reaches the dead-letter queue
    const connection = await connect(nodeUrl)
    onTestFinished(() => connection.close().catch(() => undefined))
    const channel = await connection.createChannel()
    await channel.assertQueue('orders.events', { durable: true })
    channel.sendToQueue('orders.events', Buffer.from('rejected'))
    const message = await waitFor(() => channel.get('orders.events', { noAck: false }), 10_000, 'the message')
    channel.nack(message, false, false)
    const letter = await waitFor(() => channel.get(names.queue, { noAck: true }), 10_000, 'the dead letter')
    const death = letter.properties.headers?.['x-death']?.[0]
    expect([letter.content.toString(), death?.queue, death?.reason]).toEqual(['rejected', 'orders.events', 'rejected'])
  })
})
