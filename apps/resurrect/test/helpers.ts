import { fileURLToPath } from 'node:url'
import type { PublishOptions, Supervisor } from '@am/bus-core'
import { parseCli } from '@am/cli-kit/testing'
import { uniqueName, waitFor } from '@am/testkit'
import { onTestFinished } from 'vitest'
import { resolveSettings } from '../src/commands/resurrect.js'
import { ARGV, createCli } from '../src/program.js'

/** The built binary, as installed users run it. */
export const binary: string = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

/** Parses an argv the way the binary does and resolves it to settings (or throws the usage error). */
export function settingsOf(argv: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof resolveSettings> {
  const { args, options } = parseCli(createCli, argv, { ...ARGV, env })
  return resolveSettings(args, options, env)
}

/** A dead-letter setup of its own: exchange, a queue that dead-letters, a sibling without, a DLX and its DLQ. */
export interface DeadLetterRig {
  exchange: string
  dlx: string
  /** Bound to `exchange` with `Key.#`; dead-letters to `dlx`. */
  queue: string
  /** Bound to `exchange` with the same pattern; no dead-lettering. */
  sibling: string
  /** Bound to `dlx` with `#`. */
  dlq: string
  /** Publishes each message to `exchange`, rejects its copy in `queue` and drops the sibling's copy. */
  kill(messages: Array<{ routingKey: string; body: Buffer; options?: PublishOptions }>): Promise<void>
}

/**
 * Declares a rig with unique names and deletes it after the test. `queueArguments` go to the
 * dead-lettering queue (e.g. `x-message-ttl: 0` to make every message die at once).
 */
export async function deadLetterRig(
  bus: Supervisor,
  queueArguments: Record<string, unknown> = {},
): Promise<DeadLetterRig> {
  const rig = {
    exchange: uniqueName('am-res-ex'),
    dlx: uniqueName('am-res-dlx'),
    queue: uniqueName('am-res-q'),
    sibling: uniqueName('am-res-sibling'),
    dlq: uniqueName('am-res-dlq'),
  }
  await bus.withChannel(async (channel) => {
    await channel.assertExchange(rig.exchange, 'topic', { durable: false })
    await channel.assertExchange(rig.dlx, 'topic', { durable: false })
    await channel.assertQueue(rig.queue, {
      durable: false,
      arguments: { 'x-dead-letter-exchange': rig.dlx, ...queueArguments },
    })
    await channel.assertQueue(rig.sibling, { durable: false })
    await channel.assertQueue(rig.dlq, { durable: false })
    await channel.bindQueue(rig.queue, rig.exchange, 'Key.#')
    await channel.bindQueue(rig.sibling, rig.exchange, 'Key.#')
    await channel.bindQueue(rig.dlq, rig.dlx, '#')
  })
  onTestFinished(async () => {
    await bus.withChannel(async (channel) => {
      for (const queue of [rig.queue, rig.sibling, rig.dlq]) await channel.deleteQueue(queue)
      for (const exchange of [rig.exchange, rig.dlx]) await channel.deleteExchange(exchange)
    })
  })
  const dies = queueArguments['x-message-ttl'] === 0
  return {
    ...rig,
    async kill(messages) {
      const before = (await bus.checkQueue(rig.dlq)).messageCount
      for (const { routingKey, body, options } of messages) await bus.publish(rig.exchange, routingKey, body, options)
      await bus.withChannel(async (channel) => {
        for (const _ of messages) {
          if (!dies) {
            const message = await waitFor(() => channel.get(rig.queue), 5_000, 'the message in the queue')
            channel.nack(message, false, false)
          }
          await waitFor(() => channel.get(rig.sibling, { noAck: true }), 5_000, 'the sibling copy')
        }
      })
      await waitFor(
        async () => (await bus.checkQueue(rig.dlq)).messageCount === before + messages.length,
        5_000,
        'the dead letters',
      )
    },
  }
}
