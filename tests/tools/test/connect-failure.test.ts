import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:tls'
import { closedPort, runBinary } from '@am/cli-kit/testing'
import { uniqueName } from '@am/testkit'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { binary, TOOLS } from './tools.js'

const url = new URL(inject('amqpUrl'))
const user = decodeURIComponent(url.username || 'guest')
let payload: string
/** A TLS listener whose certificate is self-signed (never trusted), on loopback. */
let untrustedPort: number

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tools-'))
  payload = join(dir, 'p.json')
  await writeFile(payload, '{"n": 1}')
  const fixture = (name: string): Buffer => readFileSync(new URL(`fixtures/${name}`, import.meta.url))
  const server = createServer(
    { key: fixture('self-signed-key.pem'), cert: fixture('self-signed-cert.pem') },
    (socket) => socket.destroy(),
  )
  server.on('tlsClientError', () => undefined)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  untrustedPort = (server.address() as { port: number }).port
  return async () => {
    server.close()
    await rm(dir, { recursive: true, force: true })
  }
})

/** Runs a tool on `target` and returns what it printed, exit code included. */
async function attempt(tool: (typeof TOOLS)[number], target: string, connectTimeoutS = 2) {
  const args = [
    target,
    ...tool.args.map((arg) => (arg === 'PAYLOAD' ? payload : arg)),
    '--connect-timeout',
    String(connectTimeoutS),
  ]
  const run = await runBinary(binary(tool.name), args)
  return { code: run.code, stdout: run.stdout, stderr: run.stderr }
}

const secret = uniqueName('s3cr3t')

describe.each(TOOLS)('am-$name', (tool) => {
  it('says nothing listens, and to start RabbitMQ or wait longer', async () => {
    const port = await closedPort()
    expect(await attempt(tool, `amqp://guest:${secret}@127.0.0.1:${port}/vh`)).toEqual({
      code: 69,
      stdout: '',
      stderr: `error: no broker at amqp://guest:***@127.0.0.1:${port}/vh: nothing listens on 127.0.0.1:${port} (ECONNREFUSED) (gave up after 2 s): start RabbitMQ, fix the URL or raise --connect-timeout\n`,
    })
  })

  it('says the login was refused, at once', async () => {
    const bad = new URL(url)
    bad.password = secret
    // With 30 s to connect, a tool that retried the refused login would take them all: "at once"
    // is well under that (a loaded machine takes a few seconds to start a tool).
    const started = Date.now()
    expect(await attempt(tool, bad.href, 30)).toEqual({
      code: 69,
      stdout: '',
      stderr: `error: the broker at amqp://${bad.username}:***@${bad.host}${bad.pathname} refused the login of user '${user}' (ACCESS_REFUSED): fix the user or password in the URL\n`,
    })
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('says the virtual host is missing, at once', async () => {
    const vhost = uniqueName('no-vhost')
    const bad = new URL(url)
    bad.pathname = `/${vhost}`
    expect(await attempt(tool, bad.href)).toEqual({
      code: 69,
      stdout: '',
      stderr: `error: the broker at amqp://${bad.username}:***@${bad.host}/${vhost} has no virtual host '${vhost}' (or user '${user}' may not use it): create it (rabbitmqctl add_vhost ${vhost}) or fix the URL\n`,
    })
  })

  it('says an amqps:// URL points at a plain port', async () => {
    const where = `${url.hostname}:${url.port || 5672}`
    expect(await attempt(tool, `amqps://guest:${secret}@${where}/vh`)).toEqual({
      code: 69,
      stdout: '',
      stderr: `error: TLS with the broker at amqps://guest:***@${where}/vh failed: ${where} does not speak TLS (ERR_SSL_WRONG_VERSION_NUMBER): use amqp:// for a plain port, or the broker's TLS port (usually 5671)\n`,
    })
  })

  it("says the broker's certificate is not trusted", async () => {
    expect(await attempt(tool, `amqps://guest:${secret}@127.0.0.1:${untrustedPort}/vh`)).toEqual({
      code: 69,
      stdout: '',
      stderr: `error: TLS with the broker at amqps://guest:***@127.0.0.1:${untrustedPort}/vh failed: its certificate is not trusted (self-signed certificate) (DEPTH_ZERO_SELF_SIGNED_CERT): give the broker's CA certificate (the tls.ca option, or NODE_EXTRA_CA_CERTS) or fix the host name in the URL\n`,
    })
  })
})
