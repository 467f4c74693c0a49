import { createSupervisor, type Supervisor } from '@am/bus-core'
import { runBinary } from '@am/cli-kit/testing'
import { drain, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { binary } from './helpers.js'
import { amBusService, count, eventailLikeService, killAll, type World } from './services.js'

const url = inject('amqpUrl')

async function broker(): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: 'am-resurrect-matrix-test' })
  onTestFinished(() => bus.close())
  await bus.ready()
  return bus
}

const MODES = {
  default: [],
  '--rebroadcast': ['--rebroadcast'],
  '--to-queue': ['--to-queue'],
  '--dry-run': ['--dry-run'],
}
const KINDS = ['command', 'result', 'event'] as const

/**
 * Kills a command, a result and an event, runs the binary in `mode`, waits until each of the three
 * is accounted for (handled, or in the DLQ), and says where each went.
 */
async function measure(bus: Supervisor, world: World, mode: keyof typeof MODES) {
  world.failing = true
  world.calls.length = 0
  const id = (kind: string) => `${mode}-${kind}`
  await killAll(bus, world, [
    () => world.sendCommand(id('command')),
    () => world.sendResult(id('result')),
    () => world.publishEvent(id('event')),
  ])
  await drain(bus, world.other)
  const run = await runBinary(binary, [url, world.dlq, ...MODES[mode]])
  const handled = () => world.calls.filter((call) => call.outcome === 'ok')
  await waitFor(
    async () => handled().length + (await count(bus, world.dlq)) === 3,
    10_000,
    `the 3 messages handled or in the DLQ after ${mode}`,
  )
  const where: Record<string, string> = {}
  for (const kind of KINDS) {
    const ok = handled().find((call) => call.conversationId === id(kind))
    const again = world.calls.find((call) => call.conversationId === id(kind) && call.handler === 'configuration')
    where[kind] = ok
      ? `${ok.handler} handler, ${ok.exchange === '' ? 'straight into its queue' : `through ${ok.exchange}`}`
      : again
        ? 'configuration handler, dead again'
        : 'in the DLQ'
  }
  const rest = await drain(bus, world.dlq)
  return { ...where, exit: run.code, dlq: rest.length, otherService: (await drain(bus, world.other)).length }
}

describe('where each kind of dead letter goes, by service kind and mode', () => {
  it('with an eventail-like service', async () => {
    const bus = await broker()
    const world = await eventailLikeService(bus, url)
    const matrix: Record<string, unknown> = {}
    for (const mode of Object.keys(MODES) as Array<keyof typeof MODES>) matrix[mode] = await measure(bus, world, mode)
    expect(matrix).toEqual({
      default: {
        command: 'command handler, through commands',
        result: 'result handler, through commands',
        event: 'in the DLQ',
        exit: 1,
        dlq: 1,
        otherService: 0,
      },
      '--rebroadcast': {
        command: 'command handler, through commands',
        result: 'result handler, through commands',
        event: 'event handler, through events',
        exit: 0,
        dlq: 0,
        otherService: 1,
      },
      '--to-queue': {
        command: 'configuration handler, dead again',
        result: 'configuration handler, dead again',
        event: 'configuration handler, dead again',
        exit: 0,
        dlq: 3,
        otherService: 0,
      },
      '--dry-run': {
        command: 'in the DLQ',
        result: 'in the DLQ',
        event: 'in the DLQ',
        exit: 1,
        dlq: 3,
        otherService: 0,
      },
    })
  })

  it('with an AM Bus service', async () => {
    const bus = await broker()
    const world = await amBusService(bus, url)
    const matrix: Record<string, unknown> = {}
    for (const mode of Object.keys(MODES) as Array<keyof typeof MODES>) matrix[mode] = await measure(bus, world, mode)
    expect(matrix).toEqual({
      default: {
        command: 'command handler, through commands',
        result: 'result handler, through commands',
        event: 'event handler, straight into its queue',
        exit: 0,
        dlq: 0,
        otherService: 0,
      },
      '--rebroadcast': {
        command: 'command handler, through commands',
        result: 'result handler, through commands',
        event: 'event handler, through events',
        exit: 0,
        dlq: 0,
        otherService: 1,
      },
      '--to-queue': {
        command: 'command handler, straight into its queue',
        result: 'result handler, straight into its queue',
        event: 'event handler, straight into its queue',
        exit: 0,
        dlq: 0,
        otherService: 0,
      },
      '--dry-run': {
        command: 'in the DLQ',
        result: 'in the DLQ',
        event: 'in the DLQ',
        exit: 0,
        dlq: 3,
        otherService: 0,
      },
    })
  })
})
