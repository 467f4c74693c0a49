import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { expectNoBroker, expectUsageError, startBinary } from '@am/cli-kit/testing'
import { closeConnections, uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { gelfPublisher } from './gelf.js'

const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const url = inject('amqpUrl')

/** Starts the built logger; resolves once it says it is subscribed. */
async function startLogger(args: string[], env?: NodeJS.ProcessEnv) {
  const started = startBinary(bin, args, env ? { env } : {})
  onTestFinished(() => {
    started.child.kill('SIGKILL')
  })
  await waitFor(
    () => (started.stdout() + started.stderr()).includes('subscribed to logs') || started.child.exitCode !== null,
    10_000,
    'the subscription',
  )
  return {
    child: started.child,
    done: started.exited,
    lines: () => started.stdout().split('\n').filter(Boolean),
    stderr: started.stderr,
  }
}

describe('am-logger (built binary)', () => {
  it('prints a GELF log as NDJSON and exits 0 after --count 1', async () => {
    const service = uniqueName('e2esvc')
    const logger = await startLogger([url, '--filter', `${service}.*`, '--count', '1', '--ndjson'])
    const publisher = await gelfPublisher(url)
    publisher.log(service, 3, 'broken ☃', { _extra: 1 })
    const run = await logger.done
    expect(run.json()).toEqual([
      {
        routingKey: `${service}.ERROR`,
        log: expect.objectContaining({ version: '1.1', short_message: 'broken ☃', level: 3, _extra: 1 }),
      },
    ])
    expect(run.code).toBe(0)
  })

  it('survives a broker connection loss (new queue, bound again)', async () => {
    const service = uniqueName('e2esvc')
    const logger = await startLogger([url, '--filter', `${service}.#`, '--count', '2', '--ndjson'])
    const publisher = await gelfPublisher(url)
    publisher.log(service, 6, 'before')
    await waitFor(() => logger.lines().length === 1, 5_000, 'the first log')
    const closed = await closeConnections(`am-logger@${hostname()}:${logger.child.pid}`)
    expect(closed).toBe(1)
    // Logs published while it reconnects are lost (exclusive queue): publish until one arrives.
    await waitFor(
      () => {
        publisher.log(service, 6, 'after')
        return logger.lines().length >= 2
      },
      10_000,
      'a log after the reconnection',
    )
    const run = await logger.done
    expect((run.json() as Array<{ log: { short_message: string } }>).map((l) => l.log.short_message)).toEqual([
      'before',
      'after',
    ])
    expect(run.stderr).toMatch(/warn: broker connection (lost|failed: .*CONNECTION.FORCED.*); reconnecting/)
    expect(run.code).toBe(0)
  })

  it('exits 0 promptly on SIGINT, with the URL from AMQP_URL', async () => {
    const logger = await startLogger(['--filter', `${uniqueName('e2esvc')}.*`], { AMQP_URL: url })
    const started = Date.now()
    logger.child.kill('SIGINT')
    const run = await logger.done
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(run.code).toBe(0)
  })

  it('exits 69 when no broker listens, without showing the password', () =>
    expectNoBroker(bin, (broker) => [broker, '--connect-timeout', '0.3', '--ndjson']))

  it.each([
    { args: [], message: 'give the broker URL as first argument or set AMQP_URL' },
    { args: ['amqp://localhost/', 'stray'], message: 'unexpected argument "stray": patterns go after --filter' },
    {
      args: ['amqp://localhost/', '--level', 'LOUD'],
      message: 'unknown --level "LOUD": use EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG or 0-7',
    },
  ])('exits 64 on a usage error: $args', ({ args, message }) => expectUsageError(bin, args, message))
})
