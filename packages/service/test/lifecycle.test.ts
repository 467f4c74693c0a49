import { createSupervisor, type SupervisorOptions, type Topology } from '@am/bus-core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { eventProperties, type Handlers, type ServiceOptions } from '../src/index.js'
import { cleanupQueues, peer, run, send, TableService, unacked, uniqueName, url, waitFor } from './helpers.js'

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const
const signalListeners = (): number[] => SIGNALS.map((s) => process.listenerCount(s))

function serviceName(prefix = 'life'): string {
  const name = uniqueName(prefix)
  cleanupQueues(name)
  return name
}

/** A real supervisor whose `close()` closes, then rejects. */
function closeFails(options: SupervisorOptions) {
  const bus = createSupervisor(options)
  const close = bus.close.bind(bus)
  bus.close = async () => {
    await close()
    throw new Error('close failed')
  }
  return bus
}

/** A real supervisor whose first `extendTopology()` is refused (the reply queue's, for a service that declares nothing later). */
function firstExtensionFails(options: SupervisorOptions) {
  const bus = createSupervisor(options)
  const extend = bus.extendTopology.bind(bus)
  let refused = false
  bus.extendTopology = async (extra: Topology) => {
    if (!refused) {
      refused = true
      throw new Error('reply queue refused')
    }
    return extend(extra)
  }
  return bus
}

/** A queue that holds nothing and refuses more, bound to `events`/`routingKey`: the broker nacks every publish to it. */
async function refusingQueue(routingKey: string): Promise<void> {
  const bus = await peer()
  const queue = uniqueName('refusing-q')
  await bus.extendTopology({
    exchanges: [],
    queues: [
      {
        key: queue,
        name: queue,
        durable: false,
        autoDelete: true,
        arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
      },
    ],
    bindings: [{ queue, exchange: 'events', routingKey }],
  })
}

describe('Service lifecycle', () => {
  it('stops for good when its close fails: health endpoint closed, signal handlers removed, stopped resolved', async () => {
    const name = serviceName()
    const before = signalListeners()
    const options: ServiceOptions = {
      urls: url,
      handleSignals: true,
      healthPort: 0,
      stopTimeoutMs: 2_000,
      logger: null,
      supervisorFactory: closeFails,
    }
    const service = new TableService(name, { events: { [`${name}.Ping`]: () => undefined } }, options)
    onTestFinished(() => service.stop().catch(() => undefined))
    await service.start()
    const port = service.healthPort as number
    expect([(await fetch(`http://127.0.0.1:${port}/healthz`)).status, signalListeners()]).toEqual([
      200,
      before.map((n) => n + 1),
    ])
    await expect(service.stop()).rejects.toThrow('close failed')
    await service.stopped
    expect([service.state, service.healthPort, signalListeners()]).toEqual(['stopped', undefined, before])
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow('fetch failed')
  })

  it('sets the reply queue up again after a failed attempt: one failure does not break every later request', async () => {
    const responder = serviceName('responder')
    const requester = serviceName('requester')
    const square = `${responder}.Square`
    await run(
      (o) =>
        new TableService(
          responder,
          { commands: { [square]: (p, ctx) => void ctx.returnSuccess((p as number) ** 2) } },
          o,
        ),
    )
    const client = await run((o) => new TableService(requester, {}, { ...o, supervisorFactory: firstExtensionFails }))
    await expect(client.request(square, 3, { conversationId: 'r1' })).rejects.toThrow('reply queue refused')
    expect([
      await client.request(square, 4, { conversationId: 'r2' }),
      await client.request(square, 5, { conversationId: 'r3' }),
    ]).toEqual([16, 25])
  })

  it('cancels the nack-retry delay of a publish made outside a handler when it stops', async () => {
    const name = serviceName()
    const refused = uniqueName('Refused')
    await refusingQueue(refused)
    const service = await run((o) => new TableService(name, {}, { ...o, nackRetryDelaysMs: [600_000] }))
    const published = service.publishEvent(refused, 1, { conversationId: 'c' })
    published.catch(() => undefined)
    const counted = () => service.stats().outputs.find((o) => o.routingKey === refused)
    await waitFor(() => counted()?.nacked === 1, 10_000, 'the first nack')
    await service.stop()
    await expect(published).rejects.toMatchObject({ code: 'PUBLISH_NACKED' })
    expect(counted()).toEqual({
      kind: 'event',
      routingKey: refused,
      published: 1,
      confirmed: 0,
      nacked: 1,
      returned: 0,
      failed: 0,
    })
  })

  it('cancels the nack-retry delay of a handler once the stop budget is spent; the message stays queued', async () => {
    const name = serviceName()
    const input = `${name}.In`
    const refused = uniqueName('Refused')
    await refusingQueue(refused)
    const seen: string[] = []
    const handlers: Handlers = {
      events: {
        [input]: async (payload, ctx) => {
          seen.push('handling')
          try {
            await ctx.publishEvent(refused, payload)
          } catch (error) {
            seen.push((error as { code: string }).code)
            throw error
          }
        },
      },
    }
    const service = await run((o) => new TableService(name, handlers, { ...o, nackRetryDelaysMs: [600_000] }), {
      stopTimeoutMs: 300,
    })
    const bus = await peer()
    await send(bus, 'events', input, 'kept', eventProperties('c'))
    await waitFor(
      () => service.stats().outputs.find((o) => o.routingKey === refused)?.nacked === 1,
      10_000,
      'the first nack',
    )
    await service.stop()
    await waitFor(() => seen.length === 2, 5_000, 'the handler to see its publish fail')
    expect(seen).toEqual(['handling', 'PUBLISH_NACKED'])
    await waitFor(async () => (await unacked(`${name}.events`)) === 0, 10_000, 'the input back in its queue')
    expect((await bus.checkQueue(`${name}.events`)).messageCount).toBe(1)
  })
})
