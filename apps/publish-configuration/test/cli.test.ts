import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expectNoBroker, expectRefusedLogin, expectUsageError, runBinary } from '@am/cli-kit/testing'
import { bindQueue, uniqueName } from '@am/testkit'
import { beforeAll, describe, expect, inject, it } from 'vitest'

const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const url = inject('amqpUrl')
let payload: string
/** Stands for the payload file in test tables, which are built before beforeAll writes it. */
const PAYLOAD = '<the payload file>'

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
    await bindQueue(url, 'configurations', name)
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

  it('exits 69 when no broker listens, without showing the password', () =>
    expectNoBroker(bin, (broker) => [broker, 'Ev', payload, '--connect-timeout', '0.3', '--ndjson']))

  it('never shows the password of a refused login', () =>
    expectRefusedLogin(bin, url, (broker) => [broker, 'Ev', payload]))

  // The payload file exists only once beforeAll ran: the table names it, the test puts it in.
  it.each([
    { args: ['Ev', PAYLOAD], message: 'give the broker URL as first argument or set AMQP_URL' },
    {
      args: ['amqp://localhost/', 'Ev'],
      message: 'expected <name> <payload_file> after the broker URL, got 1 argument(s); see --help',
    },
    {
      args: ['amqp://localhost/', 'Ev', 'p.txt'],
      message:
        'cannot tell the encoding of payload file p.txt: name it *.json or *.cbor, or give - to read JSON from stdin',
    },
    { args: ['amqp://localhost/', 'Ev', PAYLOAD, '--nope'], message: 'Unknown option `--nope`' },
  ])('exits 64 on a usage error: $args', ({ args, message }) =>
    expectUsageError(
      bin,
      args.map((arg) => (arg === PAYLOAD ? payload : arg)),
      message,
    ),
  )

  it('prints help and version', async () => {
    const help = await runBinary(bin, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('$ am-publish-configuration [url] <name> <payload_file> [options]')
    const version = await runBinary(bin, ['--version'])
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })
})
