// The dead-letter scenario of dead-letter-memory.test.ts on the real broker: the same service, the
// same expectations (retried once, ALERT, ALERT, EMERGENCY, then in the dead-letter queue).
import { eventProperties } from '@am/service'
import { rabbitmqctl, uniqueName } from '@am/testkit'
import { describe, expect, it, onTestFinished } from 'vitest'
import { peer, run, send, spy, url } from './helpers.js'
import { StrictRelay } from './strict-relay.js'

describe('a failing handler on the real broker', () => {
  it('is retried once, then its message ends in the dead-letter queue: ALERT, ALERT, EMERGENCY', async () => {
    const bus = await peer()
    const vhost = decodeURIComponent(new URL(url).pathname.slice(1)) || '/'
    const dlx = uniqueName('examples-dlx')
    const dead = await spy(bus, dlx, '#')
    const logs = await spy(bus, 'logs', 'strict-relay.*')
    const policy = uniqueName('examples-dlx-policy')
    await rabbitmqctl(
      'set_policy',
      '-p',
      vhost,
      policy,
      '^strict-relay\\.events$',
      JSON.stringify({ 'dead-letter-exchange': dlx }),
      '--apply-to',
      'queues',
    )
    onTestFinished(async () => {
      await rabbitmqctl('clear_policy', '-p', vhost, policy).catch(() => undefined)
    })
    await new Promise((resolve) => setTimeout(resolve, 300)) // policies apply asynchronously
    await run((o) => new StrictRelay(o))
    await send(bus, 'events', 'OrderPlaced', { orderId: 'B-1' }, eventProperties('conv-b1'))
    const letter = await dead.nth(1)
    await logs.nth(3)
    const deaths = letter.headers['x-death'] as Array<Record<string, unknown>>
    expect({
      logs: logs.messages.map((m) => [m.routingKey, logs.log(m).short_message]),
      payload: dead.payload(letter),
      deaths: deaths.map((d) => [d.count, d.reason, d.queue, d.exchange]),
      firstDeathQueue: letter.headers['x-first-death-queue'],
    }).toEqual({
      logs: [
        ['strict-relay.ALERT', 'Unhandled error while processing message OrderPlaced'],
        ['strict-relay.ALERT', 'Unhandled error while processing message OrderPlaced'],
        ['strict-relay.EMERGENCY', 'Giving up on OrderPlaced'],
      ],
      payload: { orderId: 'B-1' },
      deaths: [[1, 'rejected', 'strict-relay.events', 'events']],
      firstDeathQueue: 'strict-relay.events',
    })
  })
})
