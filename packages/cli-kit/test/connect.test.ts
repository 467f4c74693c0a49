import { EXCHANGES, eventailTopology } from '@am/bus-core'
import { listConnections, uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { connectBus } from '../src/index.js'
import { closedPort, createMemoryContext } from '../src/testing.js'

const url = inject('amqpUrl')
/** The URL as the tools show it: password hidden. */
const safe = (target: URL): string => `amqp://${target.username}:***@${target.host}${target.pathname}`

describe('connectBus', () => {
  it('connects with the tool as connection name and declares the topology', async () => {
    const memory = createMemoryContext()
    const bus = await connectBus(memory.ctx, url, {
      tool: 'kit-test',
      topology: eventailTopology({ service: uniqueName('kit'), events: ['X'], exclusive: true }),
    })
    onTestFinished(() => bus.close())
    expect(bus.name).toMatch(new RegExp(`^am-kit-test@.+:${process.pid}$`))
    expect(bus.queueName('events')).toMatch(/^amq\.gen-/)
    await waitFor(async () => (await listConnections()).some((c) => c.name === bus.name), 5_000, 'the connection')
    expect(EXCHANGES.events).toBe('events')
  })

  it.each([
    [300, '300 ms'],
    [1_000, '1 s'],
  ])('fails with exit 69 and a redacted URL when nothing listens (%i ms)', async (connectTimeoutMs, shown) => {
    const secret = uniqueName('s3cr3t')
    const port = await closedPort()
    const target = `amqp://guest:${secret}@127.0.0.1:${port}/vh`
    const memory = createMemoryContext()
    const started = Date.now()
    const failure = await connectBus(memory.ctx, target, { tool: 'kit-test', connectTimeoutMs }).catch(
      (error: unknown) => error as Error,
    )
    expect(Date.now() - started).toBeLessThan(4_000)
    expect(failure).toMatchObject({ code: 'CLI_UNAVAILABLE', exitCode: 69 })
    expect((failure as Error).message).toBe(
      `no broker at amqp://guest:***@127.0.0.1:${port}/vh: nothing listens on 127.0.0.1:${port} (ECONNREFUSED) (gave up after ${shown}): start RabbitMQ, fix the URL or raise --connect-timeout`,
    )
    expect((failure as Error).message).not.toContain(secret)
    expect(memory.messages).toEqual([])
  })

  it('fails at once when the broker refuses the login', async () => {
    const secret = uniqueName('wrong')
    const bad = new URL(url)
    bad.password = secret
    const memory = createMemoryContext()
    const started = Date.now()
    const failure = await connectBus(memory.ctx, bad.href, { tool: 'kit-test', connectTimeoutMs: 10_000 }).catch(
      (error: unknown) => error as Error,
    )
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(failure).toMatchObject({
      code: 'CLI_UNAVAILABLE',
      exitCode: 69,
      message: `the broker at ${safe(bad)} refused the login of user '${bad.username}' (ACCESS_REFUSED): fix the user or password in the URL`,
      cause: { code: 'CONNECTION_FAILED', failure: 'login' },
    })
    expect((failure as Error).message).not.toContain(secret)
  })

  it('fails at once, saying so, when the virtual host does not exist', async () => {
    const bad = new URL(url)
    const vhost = uniqueName('kit-no-vhost')
    bad.pathname = `/${vhost}`
    const memory = createMemoryContext()
    const started = Date.now()
    const failure = await connectBus(memory.ctx, bad.href, { tool: 'kit-test', connectTimeoutMs: 10_000 }).catch(
      (error: unknown) => error as Error,
    )
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(failure).toMatchObject({
      code: 'CLI_UNAVAILABLE',
      exitCode: 69,
      message: `the broker at ${safe(bad)} has no virtual host '${vhost}' (or user '${bad.username}' may not use it): create it (rabbitmqctl add_vhost ${vhost}) or fix the URL`,
      cause: { code: 'CONNECTION_FAILED', failure: 'vhost' },
    })
  })

  it('fails with exit 69 when the broker refuses the topology', async () => {
    const exchange = uniqueName('kit-clash')
    const memory = createMemoryContext()
    const first = await connectBus(memory.ctx, url, {
      tool: 'kit-test',
      topology: { exchanges: [{ name: exchange, type: 'topic', autoDelete: true }], queues: [], bindings: [] },
    })
    onTestFinished(() => first.close())
    const failure = await connectBus(memory.ctx, url, {
      tool: 'kit-test',
      topology: { exchanges: [{ name: exchange, type: 'direct', autoDelete: true }], queues: [], bindings: [] },
    }).catch((error: unknown) => error as Error)
    expect(failure).toMatchObject({ code: 'CLI_UNAVAILABLE' })
    expect((failure as Error).message).toContain(`exchange '${exchange}' exists with other attributes`)
  })

  it('stops waiting when the signal aborts', async () => {
    const memory = createMemoryContext()
    const pending = connectBus(memory.ctx, `amqp://guest:guest@127.0.0.1:${await closedPort()}/`, {
      tool: 'kit-test',
      connectTimeoutMs: 10_000,
    })
    setTimeout(() => memory.abort(), 100)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
  })
})
