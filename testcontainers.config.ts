/**
 * Where tests find a RabbitMQ broker, in this order:
 * 1. `AMQP_URL` when set (it must answer: no silent fallback);
 * 2. the local broker on 127.0.0.1:5672, vhost `am-test` (created with `rabbitmqctl` when missing);
 * 3. a RabbitMQ container through testcontainers, for laptops with Docker (`TESTCONTAINERS=off` skips it).
 * With none of them, one line says what to do.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { connect } from 'amqplib'

export const TEST_VHOST = 'am-test'
export const DEFAULT_AMQP_URL = `amqp://guest:guest@127.0.0.1:5672/${TEST_VHOST}`
export const RABBITMQ_IMAGE = 'rabbitmq:3.13-management-alpine'
const PROBE_TIMEOUT_MS = 2_000
const run = promisify(execFile)

export interface Broker {
  url: string
  source: 'env' | 'loopback' | 'container'
  stop(): Promise<void>
}

export async function startBroker(env: NodeJS.ProcessEnv = process.env): Promise<Broker> {
  const explicit = env.AMQP_URL
  const url = explicit ?? DEFAULT_AMQP_URL
  let probe = await reach(url)
  if (probe !== true && !explicit && (await createVhost(TEST_VHOST))) probe = await reach(url)
  if (probe === true) return { url, source: explicit ? 'env' : 'loopback', stop: async () => {} }
  if (explicit) throw new Error(`AMQP_URL ${redact(url)} is not reachable: ${probe.message}`, { cause: probe })
  if (env.TESTCONTAINERS === 'off') {
    throw new Error(`no broker at ${redact(url)} and TESTCONTAINERS=off: start rabbitmq or set AMQP_URL`, {
      cause: probe,
    })
  }
  try {
    return await startContainer()
  } catch (error) {
    throw new Error(`no broker at ${redact(url)} and no container runtime: start rabbitmq or set AMQP_URL`, {
      cause: error,
    })
  }
}

async function reach(url: string): Promise<true | Error> {
  try {
    const connection = await connect(url, { timeout: PROBE_TIMEOUT_MS })
    await connection.close()
    return true
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
}

/** Creates the test vhost on the local node; false when rabbitmqctl is absent or refuses. */
async function createVhost(vhost: string): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['-q', 'add_vhost', vhost]).catch(() => undefined)
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*'])
    return true
  } catch {
    return false
  }
}

async function startContainer(): Promise<Broker> {
  const { RabbitMQContainer } = await import('@testcontainers/rabbitmq')
  const container = await new RabbitMQContainer(RABBITMQ_IMAGE).start()
  await container.exec(['rabbitmqctl', 'add_vhost', TEST_VHOST])
  await container.exec(['rabbitmqctl', 'set_permissions', '-p', TEST_VHOST, 'guest', '.*', '.*', '.*'])
  return {
    url: `${container.getAmqpUrl()}/${TEST_VHOST}`,
    source: 'container',
    stop: async () => {
      await container.stop()
    },
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}
