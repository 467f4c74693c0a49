import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer as createTcpServer, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { uniqueName } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { ConnectionError, createSupervisor, type Supervisor, type SupervisorOptions } from '../src/index.js'

const url = inject('amqpUrl')
const base = new URL(url)
/** The URL as the supervisor shows it: password hidden. */
const safe = (target: URL): string => `amqp://${target.username}:***@${target.host}${target.pathname}`

function supervise(options: SupervisorOptions): Supervisor {
  const supervisor = createSupervisor({ reconnect: { initialDelayMs: 5_000 }, ...options })
  onTestFinished(() => supervisor.destroy())
  return supervisor
}

/** What `ready()` rejected with, and the supervisor's state then. */
async function failedStart(options: SupervisorOptions): Promise<{ error: unknown; state: string; retried: boolean }> {
  const supervisor = supervise(options)
  let retried = false
  supervisor.on('reconnecting', () => {
    retried = true
  })
  const error = await supervisor.ready().then(
    () => undefined,
    (e: unknown) => e,
  )
  return { error, state: supervisor.state, retried }
}

/** The first failed attempt's error, from the `reconnecting` event. */
async function firstRetry(options: SupervisorOptions): Promise<ConnectionError> {
  const supervisor = supervise(options)
  const [{ error }] = await once(supervisor, 'reconnecting')
  expect(supervisor.state).toBe('reconnecting')
  return error as ConnectionError
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('connection failures', () => {
  it('fails at once, without retrying, when the broker refuses the login', async () => {
    const secret = uniqueName('pw')
    const target = new URL(base)
    target.password = secret
    const { error, state, retried } = await failedStart({ urls: target.href })
    expect(error).toBeInstanceOf(ConnectionError)
    expect({ ...(error as ConnectionError), message: (error as Error).message, state, retried }).toMatchObject({
      code: 'CONNECTION_FAILED',
      failure: 'login',
      message: `the broker at ${safe(target)} refused the login of user '${target.username}' (ACCESS_REFUSED): fix the user or password in the URL`,
      state: 'failed',
      retried: false,
    })
    expect(((error as Error).cause as Error).message).toMatch(/ACCESS.REFUSED/)
    expect(JSON.stringify(error)).not.toContain(secret)
  })

  it('fails at once when the virtual host does not exist', async () => {
    const vhost = uniqueName('no-vhost')
    const target = new URL(base)
    target.pathname = `/${vhost}`
    const { error, state, retried } = await failedStart({ urls: target.href })
    expect({ message: (error as Error).message, failure: (error as ConnectionError).failure, state, retried }).toEqual({
      message: `the broker at ${safe(target)} has no virtual host '${vhost}' (or user '${target.username}' may not use it): create it (rabbitmqctl add_vhost ${vhost}) or fix the URL`,
      failure: 'vhost',
      state: 'failed',
      retried: false,
    })
  })

  it('fails when every broker that answered refused, even if another is unreachable', async () => {
    const dead = new URL(base)
    dead.port = String(await closedPort())
    const login = new URL(base)
    login.password = uniqueName('pw')
    const { error, state } = await failedStart({ urls: [dead.href, login.href], reconnect: { initialDelayMs: 10 } })
    expect({ failure: (error as ConnectionError).failure, state }).toEqual({ failure: 'login', state: 'failed' })
  })

  it('keeps retrying when nothing listens (a broker restart), and says so', async () => {
    const dead = new URL(base)
    const port = await closedPort()
    dead.port = String(port)
    const error = await firstRetry({ urls: dead.href })
    expect({ message: error.message, failure: error.failure, code: error.code }).toEqual({
      message: `no broker at ${safe(dead)}: nothing listens on 127.0.0.1:${port} (ECONNREFUSED): start RabbitMQ or fix the URL`,
      failure: 'unreachable',
      code: 'CONNECTION_FAILED',
    })
  })

  it('says when the host name does not resolve', async () => {
    const error = await firstRetry({ urls: 'amqp://guest:secret@no-such-host.invalid:5672/vh' })
    expect({ message: error.message, failure: error.failure }).toEqual({
      message: `no broker at amqp://guest:***@no-such-host.invalid:5672/vh: cannot resolve the host name 'no-such-host.invalid' (ENOTFOUND): start RabbitMQ or fix the URL`,
      failure: 'unreachable',
    })
  })

  it('says when a listener does not answer within the connect timeout', async () => {
    const sockets = new Set<Socket>()
    const silent = createTcpServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy()
      silent.close()
    })
    const { port } = silent.address() as { port: number }
    const error = await firstRetry({ urls: `amqp://guest:secret@127.0.0.1:${port}/vh`, connectTimeoutMs: 300 })
    expect({ message: error.message, failure: error.failure }).toEqual({
      message: `no broker at amqp://guest:***@127.0.0.1:${port}/vh: no answer from 127.0.0.1:${port} within 300 ms (ETIMEDOUT): start RabbitMQ or fix the URL`,
      failure: 'unreachable',
    })
  })

  it('says when an amqps:// URL points at a plain port', async () => {
    const error = await firstRetry({ urls: `amqps://guest:secret@${base.hostname}:${base.port || 5672}/vh` })
    const where = `${base.hostname}:${base.port || 5672}`
    expect({ message: error.message, failure: error.failure }).toEqual({
      message: `TLS with the broker at amqps://guest:***@${where}/vh failed: ${where} does not speak TLS (ERR_SSL_WRONG_VERSION_NUMBER): use amqp:// for a plain port, or the broker's TLS port (usually 5671)`,
      failure: 'tls',
    })
  })

  it("says when the broker's certificate is not trusted", async () => {
    const fixture = (name: string): Buffer => readFileSync(new URL(`fixtures/${name}`, import.meta.url))
    const server = createTlsServer(
      { key: fixture('self-signed-key.pem'), cert: fixture('self-signed-cert.pem') },
      (socket) => {
        socket.on('error', () => undefined)
        socket.destroy()
      },
    )
    server.on('tlsClientError', () => undefined)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => {
      server.close()
    })
    const { port } = server.address() as { port: number }
    const error = await firstRetry({ urls: `amqps://guest:secret@127.0.0.1:${port}/vh` })
    expect({ message: error.message, failure: error.failure }).toEqual({
      message: `TLS with the broker at amqps://guest:***@127.0.0.1:${port}/vh failed: its certificate is not trusted (self-signed certificate) (DEPTH_ZERO_SELF_SIGNED_CERT): give the broker's CA certificate (the tls.ca option, or NODE_EXTRA_CA_CERTS) or fix the host name in the URL`,
      failure: 'tls',
    })
  })
})
