import { fileURLToPath } from 'node:url'
import type { PublishOptions, Supervisor } from '@am/bus-core'
import { parseCli } from '@am/cli-kit/testing'
import { uniqueName } from '@am/testkit'
import { onTestFinished } from 'vitest'
import { resolveSettings } from '../src/commands/inspect-queue.js'
import { createCli } from '../src/program.js'

/** The built binary, as installed users run it. */
export const binary: string = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

/** Parses an argv the way the binary does and resolves it to settings (or throws the usage error). */
export function settingsOf(argv: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof resolveSettings> {
  const { args, options } = parseCli(createCli, argv, { env })
  return resolveSettings(args, options, env)
}

/** A fresh queue on the test broker, deleted after the test, filled with `bodies` in order. */
export async function queueWith(
  bus: Supervisor,
  bodies: Array<{ body: Buffer; options?: PublishOptions }>,
): Promise<string> {
  const queue = uniqueName('am-inspect-test')
  await bus.withChannel((channel) => channel.assertQueue(queue, { durable: false, autoDelete: false }))
  onTestFinished(async () => {
    await bus.withChannel((channel) => channel.deleteQueue(queue))
  })
  for (const { body, options } of bodies) await bus.publish('', queue, body, options)
  return queue
}
