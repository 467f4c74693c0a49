import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { closedPort, runBinary } from '@am/cli-kit/testing'
import { uniqueName } from '@am/testkit'
import { beforeAll, describe, expect, inject, it } from 'vitest'

const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const url = inject('amqpUrl')
let payload: string

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'publish-configuration-e2e-'))
  payload = join(dir, 'p.json')
  await writeFile(payload, '{"n": 1}')
  return () => rm(dir, { recursive: true, force: true })
})

describe('am-publish-configuration (built binary)', () => {
  it('exits 0 and prints the confirmed configuration as NDJSON', async () => {
    const name = uniqueName('debug.E2eConfig')
    // A queue bound for the configuration, so that it is routable.
    const { createSupervisor } = await import('@am/bus-core')
    await using bus = createSupervisor({
      urls: url,
      topology: {
        exchanges: [{ name: 'configurations', type: 'topic' }],
        queues: [{ key: 'q', name: '' }],
        bindings: [{ queue: 'q', exchange: 'configurations', routingKey: name }],
      },
    })
    await bus.ready()
    const run = await runBinary(bin, [url, name, payload, '--ndjson'])
    expect(run.json()).toEqual([{ configuration: name, contentType: 'application/json', status: 'confirmed' }])
    expect(run.code).toBe(0)
  })

  it('exits 1 for an unroutable configuration, with the URL from AMQP_URL', async () => {
    const name = uniqueName('debug.Nobody')
    const run = await runBinary(bin, [name, payload, '--ndjson'], { env: { AMQP_URL: url } })
    expect(run.json()).toEqual([expect.objectContaining({ configuration: name, status: 'unroutable' })])
    expect(run.stderr).toContain(`error: no queue is bound for configuration ${name}`)
    expect(run.code).toBe(1)
  })

  it('exits 69 when no broker listens, without showing the password', async () => {
    const secret = uniqueName('s3cr3t')
    const run = await runBinary(bin, [
      `amqp://guest:${secret}@127.0.0.1:${await closedPort()}/`,
      'Ev',
      payload,
      '--connect-timeout',
      '0.3',
      '--ndjson',
    ])
    expect(run.code).toBe(69)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/^error: no broker at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/: .*ECONNREFUSED/)
    expect(run.stdout + run.stderr).not.toContain(secret)
  })

  it('never shows the password of a refused login', async () => {
    const secret = uniqueName('s3cr3t')
    const bad = new URL(url)
    bad.password = secret
    const run = await runBinary(bin, [bad.href, 'Ev', payload])
    expect(run.code).toBe(69)
    expect(run.stderr).toContain('ACCESS_REFUSED')
    expect(run.stdout + run.stderr).not.toContain(secret)
  })

  it.each([
    [['Ev', payload]],
    [['amqp://localhost/', 'Ev']],
    [['amqp://localhost/', 'Ev', 'p.txt']],
    [['amqp://localhost/', 'Ev', payload, '--nope']],
  ])('exits 64 on a usage error: %j', async (args) => {
    const run = await runBinary(bin, args)
    expect(run.code).toBe(64)
    expect(run.stderr).toMatch(/^error: /)
  })

  it('prints help and version', async () => {
    const help = await runBinary(bin, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('$ am-publish-configuration [url] <name> <payload_file> [options]')
    const version = await runBinary(bin, ['--version'])
    expect(version.stdout).toMatch(/^am-publish-configuration\/\d+\.\d+\.\d+/)
  })
})
