import { spawn } from 'node:child_process'
import { PublishError } from '@am/bus-core'
import { decode } from '@am/codec'
import { bindQueue, closeConnections, listConnections, python } from '@am/testkit'
import type { GetMessage } from 'amqplib'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createPublisher, type Publisher, type PublisherOptions, rawBody, ServiceError } from '../src/index.js'
import { cleanupQueues, run, TableService, uniqueName, url, waitFor } from './helpers.js'

/** A publisher with a unique connection name, destroyed after the test. */
function publisher(options: Partial<PublisherOptions> = {}): { publisher: Publisher; connectionName: string } {
  const connectionName = uniqueName('publisher-test')
  const made = createPublisher({ urls: url, name: uniqueName('pub'), supervisor: { connectionName }, ...options })
  onTestFinished(() => made.destroy())
  return { publisher: made, connectionName }
}

async function connectionsNamed(name: string): Promise<number> {
  return (await listConnections()).filter((c) => c.name === name).length
}

/** What a raw amqplib consumer got, minus the delivery tag and message count. */
function received(message: GetMessage) {
  return {
    exchange: message.fields.exchange,
    routingKey: message.fields.routingKey,
    properties: message.properties,
    body: message.content,
  }
}

describe('Publisher wire format', () => {
  it('gives each kind exactly the properties and body a service gives it', async () => {
    const name = uniqueName('pubwire')
    const conversationId = 'conv-1'
    const service = await run((o) => new TableService(name, {}, o))
    const { publisher: pub } = publisher({ name })
    const payload = { text: 'héllo ☃', n: 1, big: 2n ** 64n }

    const events = await bindQueue(url, 'events', `${name}-Happened`)
    await service.publishEvent(`${name}-Happened`, payload, { conversationId })
    await pub.publishEvent(`${name}-Happened`, payload, { conversationId })
    const [fromService, fromPublisher] = [received(await events.next()), received(await events.next())]
    expect(fromPublisher).toEqual(fromService)
    expect(fromPublisher.properties).toEqual({
      contentType: 'application/cbor',
      contentEncoding: undefined,
      headers: { conversation_id: conversationId },
      deliveryMode: 2,
      priority: undefined,
      correlationId: '',
      replyTo: '',
      expiration: undefined,
      messageId: undefined,
      timestamp: undefined,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
    })
    expect(decode(fromPublisher.body, 'application/cbor')).toEqual(payload)

    const commands = await bindQueue(url, 'commands', `${name}.Do`)
    const options = { conversationId, replyTo: `${name}.Done`, correlationId: 'corr-1', mandatory: false }
    await service.sendCommand(`${name}.Do`, payload, options)
    expect(await pub.sendCommand(`${name}.Do`, payload, options)).toBe('corr-1')
    const [commandFromService, commandFromPublisher] = [
      received(await commands.next()),
      received(await commands.next()),
    ]
    expect(commandFromPublisher).toEqual(commandFromService)
    expect(commandFromPublisher.properties).toMatchObject({
      headers: { conversation_id: conversationId },
      deliveryMode: 2,
      correlationId: 'corr-1',
      replyTo: `${name}.Done`,
    })

    const configurations = await bindQueue(url, 'configurations', `${name}-Defined`)
    await service.publishConfiguration(`${name}-Defined`, payload)
    await pub.publishConfiguration(`${name}-Defined`, payload)
    expect(received(await configurations.next())).toEqual(received(await configurations.next()))

    const raw = rawBody(Buffer.from('<x/>'), 'application/xml')
    await service.publishEvent(`${name}-Happened`, raw, { conversationId })
    await pub.publishEvent(`${name}-Happened`, raw, { conversationId })
    expect(received(await events.next())).toEqual(received(await events.next()))

    const logs = await bindQueue(url, 'logs', `${name}.*`)
    const log = { full: 'details', conversationId, fields: { size: 3 } }
    service.log('NOTICE', 'café ☃', log)
    await pub.log('NOTICE', 'café ☃', log)
    const [logFromService, logFromPublisher] = [received(await logs.next()), received(await logs.next())]
    // The GELF timestamps differ, the rest is the same.
    const gelf = (m: ReturnType<typeof received>) => ({
      ...m,
      body: { ...JSON.parse(m.body.toString()), timestamp: 0 },
    })
    expect(gelf(logFromPublisher)).toEqual(gelf(logFromService))
    expect(gelf(logFromPublisher).body).toEqual({
      version: '1.1',
      short_message: 'café ☃',
      full_message: 'details',
      level: 5,
      _levelname: 'NOTICE',
      host: expect.stringMatching(new RegExp(`^${name}@`)),
      timestamp: 0,
      _conversation_id: conversationId,
      _logical_service: name,
      _worker_pid: process.pid,
      _size: 3,
    })
  })

  it('sends JSON like a service with json: true', async () => {
    const name = uniqueName('pubjson')
    const service = await run((o) => new TableService(name, {}, o), { json: true })
    const { publisher: pub } = publisher({ name, json: true })
    const events = await bindQueue(url, 'events', `${name}-Happened`)
    await service.publishEvent(`${name}-Happened`, { t: 'é' }, { conversationId: 'c' })
    await pub.publishEvent(`${name}-Happened`, { t: 'é' }, { conversationId: 'c' })
    const [fromService, fromPublisher] = [received(await events.next()), received(await events.next())]
    expect(fromPublisher).toEqual(fromService)
    expect([fromPublisher.properties.contentType, fromPublisher.body.toString()]).toEqual([
      'application/json',
      '{"t":"é"}',
    ])
  })
})

describe('Publisher with a service', () => {
  it('reaches a service with its event and command, and the result comes back to its reply queue', async () => {
    const name = uniqueName('pubtarget')
    cleanupQueues(name)
    const events: unknown[] = []
    await run(
      (o) =>
        new TableService(
          name,
          {
            events: { [`${name}-Asked`]: (payload, ctx) => void events.push([payload, ctx.conversationId]) },
            commands: {
              [`${name}.Double`]: (payload, ctx) =>
                void ctx.returnSuccess({ doubled: (payload as { n: number }).n * 2 }),
            },
          },
          o,
        ),
    )
    const { publisher: pub } = publisher()
    const replies = await bindQueue(url, 'commands', `${pub.name}.Doubled`)
    await pub.publishEvent(`${name}-Asked`, { q: 1 }, { conversationId: 'conv-event', mandatory: true })
    const correlationId = await pub.sendCommand(
      `${name}.Double`,
      { n: 21 },
      { conversationId: 'conv-command', replyTo: `${pub.name}.Doubled` },
    )
    expect(correlationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const reply = await replies.next()
    expect({
      properties: reply.properties,
      payload: decode(reply.content, reply.properties.contentType),
    }).toEqual({
      properties: expect.objectContaining({
        headers: { status: 'success', conversation_id: 'conv-command' },
        correlationId,
        replyTo: '',
      }),
      payload: { doubled: 42 },
    })
    await waitFor(() => events.length === 1, 5_000, 'the event handled')
    expect(events).toEqual([[{ q: 1 }, 'conv-event']])
  })

  it('rejects an unroutable command with PUBLISH_RETURNED', async () => {
    const { publisher: pub } = publisher()
    const command = `${uniqueName('nobody')}.Do`
    const error = await pub
      .sendCommand(command, {}, { conversationId: 'c', replyTo: 'x.Y', correlationId: 'corr' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PublishError)
    const { code, message, returned } = error as PublishError
    expect({
      code,
      message,
      exchange: returned?.exchange,
      routingKey: returned?.routingKey,
      replyCode: returned?.replyCode,
      correlationId: returned?.properties.correlationId,
    }).toEqual({
      code: 'PUBLISH_RETURNED',
      message: `message to commands/${command} is unroutable (312 NO_ROUTE): no queue is bound for it`,
      exchange: 'commands',
      routingKey: command,
      replyCode: 312,
      correlationId: 'corr',
    })
  })
})

describe('Publisher lifecycle', () => {
  it('opens no connection before its first publish', async () => {
    const { publisher: pub, connectionName } = publisher()
    const events = await bindQueue(url, 'events', `${pub.name}-Happened`)
    expect([pub.isStarted, await connectionsNamed(connectionName)]).toEqual([false, 0])
    await pub.publishEvent(`${pub.name}-Happened`, 1, { conversationId: 'c' })
    expect([pub.isStarted, await connectionsNamed(connectionName)]).toEqual([true, 1])
    expect(decode((await events.next()).content, 'application/cbor')).toBe(1)
  })

  it('tries its URLs round-robin', async () => {
    const { publisher: pub, connectionName } = publisher({ urls: ['amqp://guest:guest@127.0.0.1:1/', url] })
    await pub.publishEvent(`${pub.name}-Happened`, 1, { conversationId: 'c' })
    expect(await connectionsNamed(connectionName)).toBe(1)
  })

  it('reconnects after its connection is closed, and publishes again', async () => {
    const { publisher: pub, connectionName } = publisher()
    const events = await bindQueue(url, 'events', `${pub.name}-Happened`)
    await pub.publishEvent(`${pub.name}-Happened`, 1, { conversationId: 'c' })
    expect(await closeConnections(connectionName)).toBe(1)
    await pub.publishEvent(`${pub.name}-Happened`, 2, { conversationId: 'c' })
    const bodies = [await events.next(), await events.next()].map((m) => decode(m.content, 'application/cbor'))
    expect(bodies).toEqual([1, 2])
    expect(await connectionsNamed(connectionName)).toBe(1)
  })

  it.each([
    ['still connecting', false],
    ['connected', true],
  ])('waits for the confirms of every publish when it closes %s', async (_, connected) => {
    const { publisher: pub, connectionName } = publisher()
    const events = await bindQueue(url, 'events', `${pub.name}-Happened`)
    if (connected) await pub.log('INFO', 'connected')
    const publishes = Array.from({ length: 500 }, (_, i) =>
      pub.publishEvent(`${pub.name}-Happened`, i, { conversationId: 'c' }),
    )
    await pub.close()
    const outcomes = await Promise.allSettled(publishes)
    expect(outcomes.filter((o) => o.status !== 'fulfilled')).toEqual([])
    const bodies: unknown[] = []
    for (let i = 0; i < 500; i++) bodies.push(decode((await events.next()).content, 'application/cbor'))
    expect(bodies).toEqual(Array.from({ length: 500 }, (_, i) => i))
    await waitFor(async () => (await connectionsNamed(connectionName)) === 0, 5_000, 'the connection closed')
  })

  it('refuses to publish once closed, and a close before any publish opens nothing', async () => {
    const { publisher: pub, connectionName } = publisher()
    await pub.close()
    const error = await pub.publishEvent('Anything', 1, { conversationId: 'c' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ServiceError)
    expect([(error as ServiceError).code, (error as ServiceError).message]).toEqual([
      'SERVICE_STOPPED',
      `cannot publish: the publisher ${pub.name} is closed`,
    ])
    expect(await connectionsNamed(connectionName)).toBe(0)
  })

  it('needs a name', () => {
    expect(() => createPublisher({ urls: url, name: '' })).toThrowError(
      new ServiceError('SERVICE_INVALID', 'a publisher needs a name (its logical service name)'),
    )
  })
})

// An eventail-style consumer: raw AMQP with Debian's python3-pika and python3-cbor2.
const pythonConsumer = `
import json, sys, cbor2, pika
url, key = sys.argv[1], sys.argv[2]
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()
queue = channel.queue_declare('', exclusive=True).method.queue
channel.queue_bind(queue, 'events', key)
print('ready', flush=True)
for method, properties, body in channel.consume(queue, inactivity_timeout=20):
    if method is None:
        sys.exit('no event')
    print(json.dumps({
        'routing_key': method.routing_key,
        'content_type': properties.content_type,
        'delivery_mode': properties.delivery_mode,
        'headers': properties.headers,
        'payload': cbor2.loads(body),
    }), flush=True)
    break
connection.close()
`

describe('Publisher and eventail', () => {
  it('publishes events that a Python eventail-style consumer decodes', async () => {
    const { publisher: pub } = publisher()
    const key = `${pub.name}-Happened`
    const child = spawn(python, ['-c', pythonConsumer, url, key], { stdio: ['ignore', 'pipe', 'pipe'] })
    onTestFinished(() => void child.kill())
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    await waitFor(() => out.startsWith('ready\n'), 20_000, 'the Python consumer')
    await pub.publishEvent(key, { text: 'héllo ☃', n: [1, 2] }, { conversationId: 'py-conv' })
    await waitFor(() => out.split('\n').length > 2, 20_000, 'the Python consumer to print the event')
    expect(JSON.parse(out.split('\n')[1] as string)).toEqual({
      routing_key: key,
      content_type: 'application/cbor',
      delivery_mode: 2,
      headers: { conversation_id: 'py-conv' },
      payload: { text: 'héllo ☃', n: [1, 2] },
    })
  })
})
