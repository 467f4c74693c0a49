import { createSupervisor, PublishError, type PublishOptions } from '@am/bus-core'
import { encode } from '@am/codec'
import { eventProperties } from '@am/service'
import { closeConnections, listConnections, rabbitmqctl, uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it } from 'vitest'
import { cleanupQueues, deadLetters, logSpy, peer, vhost } from './support/broker.js'
import { Capture, GUEST_PASSWORD } from './support/capture.js'
import { accountDuplicates, describeAccount } from './support/duplicates.js'
import { recordFigure } from './support/figures.js'
import { Ledger } from './support/ledger.js'
import { backlogGate, drained, openSink, produce, Relay, sleep, type Tracer } from './support/relay.js'

// Fault 1, on the shared broker: only this service's own connection is closed, found by its name.
const url = inject('amqpUrl')
const EVENTS = Number(process.env.RELIABILITY_EVENTS ?? 20_000)
const CLOSES = 10
const PREFETCH = 20
/** The handler's own work per message: with a backlog, PREFETCH messages are always in hand. */
const WORK_MS = 30
const BACKLOG = 2_000

describe('fault 1: the service connection is force-closed at random moments', () => {
  it(`relays ≥ ${EVENTS} events through ${CLOSES} forced closes: none lost, every duplicate explained by what was in hand, resumed within 5 s`, async () => {
    const capture = new Capture()
    const name = uniqueName('rel-close')
    cleanupQueues(name)
    const input = uniqueName('RelIn')
    const output = uniqueName('RelOut')
    const ledger = new Ledger()
    await using sink = await openSink({ urls: url, routingKey: output, ledger, connectionName: uniqueName('rel-sink') })
    await using spyBus = createSupervisor({ urls: url, connectionName: uniqueName('rel-logs') })
    await spyBus.ready()
    const logs = await logSpy(spyBus, name)
    await using service = new Relay(
      name,
      input,
      output,
      ledger,
      { urls: url, prefetch: PREFETCH, handleSignals: false, logger: capture.logger(name) },
      WORK_MS,
    )
    await service.start()
    const supervisor = service.supervisor as NonNullable<typeof service.supervisor>
    let lostAt = 0
    supervisor.on('disconnected', () => {
      lostAt = Date.now()
    })
    await using producer = createSupervisor({
      urls: url,
      connectionName: uniqueName('rel-pub'),
      logger: capture.logger('producer'),
    })
    await producer.ready()

    // Random moments, 0.5 to 3 s apart, while the service works through a backlog.
    let done = 0
    const resumes: number[] = []
    const findConnection = async (closed: string[]) =>
      waitFor(
        async () => (await listConnections()).find((c) => c.name.startsWith(`${name}@`) && !closed.includes(c.pid)),
        30_000,
        'the service connection',
      )
    const faults = (async () => {
      const closed: string[] = []
      let next = findConnection(closed)
      for (let i = 0; i < CLOSES; i++) {
        await sleep(500 + Math.random() * 2_500)
        const { pid } = await next
        const gen = supervisor.generation
        await rabbitmqctl('close_connection', pid, 'reliability test: forced close')
        closed.push(pid)
        await waitFor(() => supervisor.generation > gen, 30_000, 'a new connection')
        next = findConnection(closed)
        resumes.push((await sink.firstAfter(gen, 30_000)) - lostAt)
        done += 1
      }
    })()
    const producing = produce({
      bus: producer,
      routingKey: input,
      count: EVENTS,
      more: () => done < CLOSES,
      ledger,
      prefix: name,
      gate: backlogGate(ledger, BACKLOG),
    })
    await Promise.all([producing, faults])
    await waitFor(() => ledger.delivered.size >= ledger.confirmed.size, 120_000, 'every confirmed event downstream')
    await drained(rabbitmqctl, vhost, [`${name}.events`, sink.queue()])
    for (const log of logs.logs()) capture.add(JSON.stringify(log))

    const resumeMs = Math.max(...resumes)
    // Only the service's connection is closed: the consumer downstream and the producer keep theirs.
    const account = accountDuplicates(ledger, service.losses, { prefetch: PREFETCH })
    recordFigure({
      id: '1-connection-closed',
      scenario: `1. service connection force-closed ${CLOSES}× (shared broker, classic queues)`,
      messages: ledger.confirmed.size,
      lost: ledger.lost.length,
      duplicates: ledger.duplicates,
      bound: account.bound,
      inHand: sum(account.inHand),
      resumeMs,
      notes: `${supervisor.stats().reconnections} reconnections; ${ledger.redeliveries} redeliveries to the service (prefetch ${PREFETCH}, ${WORK_MS} ms of work per message); ${describeAccount(account)}; resume (loss → first relayed output on the new connection) median ${median(resumes)} ms (${resumes.join(', ')}); bus logs: ${levels(logs.logs())}`,
    })
    expect(ledger.confirmed.size).toBeGreaterThanOrEqual(EVENTS)
    expect(ledger.lost).toEqual([])
    expect(ledger.strangers).toEqual([])
    expect(supervisor.stats().reconnections).toBe(CLOSES)
    expect(service.losses.map((l) => l.generation)).toEqual(Array.from({ length: CLOSES }, (_, i) => i + 1))
    expect(ledger.redeliveries).toBeGreaterThan(0)
    // Every fault hit messages in hand (else it could not show a duplicate bug).
    expect(account.inHand.filter((n) => n === 0)).toEqual([])
    expect(account.unexplained).toEqual([])
    expect(account.duplicates).toBe(ledger.duplicates)
    expect(ledger.duplicates).toBeLessThanOrEqual(account.bound)
    expect(resumeMs).toBeLessThan(5_000)
    // Security: the shared broker's password never shows in what this scenario logged or threw.
    expect(capture.find(GUEST_PASSWORD)).toEqual([])
  })
})

describe('a handler whose output is cut off by a connection loss', () => {
  it('is not reported as failed nor given up: its message comes back on the next connection', async () => {
    const name = uniqueName('rel-cut')
    cleanupQueues(name)
    const input = uniqueName('CutIn')
    const output = uniqueName('CutOut')
    const ledger = new Ledger()
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    await using _sink = await openSink({
      urls: url,
      routingKey: output,
      ledger,
      connectionName: uniqueName('rel-sink'),
    })
    // The first two outputs: the broker closes the connection before their confirm, so the
    // publish rejects as the supervisor reports it then (PUBLISH_CHANNEL_CLOSED).
    let cuts = 2
    await using service = new Relay(name, input, output, ledger, {
      urls: url,
      handleSignals: false,
      supervisorFactory: (options) => {
        const supervisor = createSupervisor(options)
        const publish = supervisor.publish.bind(supervisor)
        supervisor.publish = async (exchange: string, routingKey: string, body: Buffer, opts?: PublishOptions) => {
          if (routingKey !== output || cuts === 0) return publish(exchange, routingKey, body, opts)
          cuts -= 1
          const gen = supervisor.generation
          await closeConnections(`${name}@`)
          await waitFor(() => supervisor.generation > gen, 10_000, 'the next connection')
          throw new PublishError(
            'PUBLISH_CHANNEL_CLOSED',
            `the connection was lost before the broker confirmed the publish to ${exchange}/${routingKey}; it may or may not have been delivered`,
          )
        }
        return supervisor
      },
    })
    await service.start()
    await bus.publish('events', input, encode({ id: 'cut-1' } satisfies Tracer), eventProperties('c-cut'))
    await waitFor(() => ledger.delivered.has('cut-1'), 30_000, 'the output after two cut connections')
    expect(ledger.received.get('cut-1')).toBe(3)
    expect(dead.messages).toEqual([])
    expect(logs.logs().map((l) => `${l.levelName} ${l.short_message}`)).toEqual([])
  })
})

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

function levels(logs: Array<{ levelName: string }>): string {
  const counts = new Map<string, number>()
  for (const { levelName } of logs) counts.set(levelName, (counts.get(levelName) ?? 0) + 1)
  return [...counts].map(([level, n]) => `${n} ${level}`).join(', ') || 'none'
}
