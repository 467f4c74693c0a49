import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createSupervisor, type PublishOptions, type Supervisor } from '@am/bus-core'
import { createMemoryContext, type MemoryContext } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { commandProperties, configurationProperties, eventProperties, resultProperties } from '@am/protocol'
import { uniqueName, useTempDir, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import { type MonitorOptions, type MonitorResult, monitor } from '../src/commands/monitor.js'

const url = inject('amqpUrl')

async function publisher(): Promise<Supervisor> {
  const bus = createSupervisor({ urls: url, connectionName: 'am-monitor-test-publisher' })
  onTestFinished(() => bus.close())
  await bus.ready()
  return bus
}

interface Running {
  memory: MemoryContext
  run: Promise<MonitorResult>
  lines(): Array<Record<string, unknown>>
}

/** Starts the command and waits until its queues are bound. */
async function startMonitor(options: MonitorOptions, ndjson = true): Promise<Running> {
  const memory = createMemoryContext()
  const run = monitor(memory.ctx, [url], { ndjson, ...options })
  onTestFinished(async () => {
    memory.abort()
    await run.catch(() => undefined)
  })
  await Promise.race([
    run.then(() => {
      throw new Error('the monitor ended before it started')
    }),
    waitFor(() => memory.messages.some((m) => m.text.startsWith('Monitoring')), 10_000, 'the monitor to start'),
  ])
  return {
    memory,
    run,
    lines: () => memory.json() as Array<Record<string, unknown>>,
  }
}

const asJson = (options: PublishOptions): PublishOptions => ({ ...options, contentType: 'application/json' })

describe('monitor', () => {
  it('classifies events, commands, results and configurations by the queue they arrive on', async () => {
    const key = uniqueName('Mon')
    const m = await startMonitor({
      events: [`${key}.#`],
      commands: [`${key}.#`],
      configurations: [`${key}.#`],
      count: 4,
    })
    const bus = await publisher()
    await bus.publish('events', `${key}.Happened`, encode({ n: 1 }), eventProperties('conv-1'))
    await bus.publish('commands', `${key}.Do`, encode([1, 2]), commandProperties('conv-2', `${key}.Done`, 'corr-2'))
    await bus.publish('commands', `${key}.Done`, encode('ok'), resultProperties('conv-2', 'success', 'corr-2'))
    await bus.publish('configurations', `${key}.Conf`, encode({ on: true }), configurationProperties())
    const result = await m.run
    expect(result).toEqual({ shown: 4, filtered: 0, malformed: 0, saved: 0, stoppedBy: 'count' })
    const byKind = Object.fromEntries(m.lines().map((line) => [line.kind, line]))
    expect(byKind).toEqual({
      event: {
        kind: 'event',
        exchange: 'events',
        routingKey: `${key}.Happened`,
        conversationId: 'conv-1',
        correlationId: '',
        replyTo: '',
        status: '',
        contentType: 'application/cbor',
        headers: {},
        payload: { n: 1 },
      },
      command: {
        kind: 'command',
        exchange: 'commands',
        routingKey: `${key}.Do`,
        conversationId: 'conv-2',
        correlationId: 'corr-2',
        replyTo: `${key}.Done`,
        status: '',
        contentType: 'application/cbor',
        headers: {},
        payload: [1, 2],
      },
      result: {
        kind: 'result',
        exchange: 'commands',
        routingKey: `${key}.Done`,
        conversationId: 'conv-2',
        correlationId: 'corr-2',
        replyTo: '',
        status: 'success',
        contentType: 'application/cbor',
        headers: {},
        payload: 'ok',
      },
      configuration: {
        kind: 'configuration',
        exchange: 'configurations',
        routingKey: `${key}.Conf`,
        conversationId: '',
        correlationId: '',
        replyTo: '',
        status: '',
        contentType: 'application/cbor',
        headers: {},
        payload: { on: true },
      },
    })
    // Nothing but NDJSON on stdout; the status line went to the logger (stderr).
    expect(m.memory.stdout().trim().split('\n')).toHaveLength(4)
  })

  it('matches --filter-fields values by type: 123 is the number, not the string', async () => {
    const key = uniqueName('MonFilter')
    const m = await startMonitor({ events: [key], filterFields: ['client_id=123', 'name=abc'], count: 1 })
    const bus = await publisher()
    for (const payload of [{ client_id: '123', name: 'abc' }, { client_id: 124, name: 'abc' }, { client_id: 123 }]) {
      await bus.publish('events', key, encode(payload), eventProperties('conv'))
    }
    await bus.publish('events', key, encode({ client_id: 123, name: 'abc', more: 1 }), eventProperties('conv'))
    const result = await m.run
    expect(result).toMatchObject({ shown: 1, filtered: 3 })
    expect(m.lines().map((line) => line.payload)).toEqual([{ client_id: 123, name: 'abc', more: 1 }])
  })

  it('lets non-map payloads simply not match a filter, without crashing', async () => {
    const key = uniqueName('MonNonMap')
    const m = await startMonitor({ events: [key], filterFields: ['a=1'], count: 1 })
    const bus = await publisher()
    await bus.publish('events', key, Buffer.from('[1,2]'), asJson(eventProperties('c')))
    await bus.publish('events', key, Buffer.from('"text"'), asJson(eventProperties('c')))
    await bus.publish('events', key, Buffer.alloc(0), eventProperties('c'))
    await bus.publish('events', key, encode(new Uint8Array([1, 2, 3])), eventProperties('c'))
    await bus.publish('events', key, Buffer.from([0xff]), eventProperties('c')) // undecodable
    await bus.publish('events', key, encode({ a: 1 }), eventProperties('c'))
    expect(await m.run).toMatchObject({ shown: 1, filtered: 5 })
    expect(m.lines().map((line) => line.payload)).toEqual([{ a: 1 }])
  })

  it('shows non-map payloads as they are when there is no filter', async () => {
    const key = uniqueName('MonPayloads')
    const m = await startMonitor({ events: [key], count: 4 })
    const bus = await publisher()
    await bus.publish('events', key, Buffer.from('[1,2]'), asJson(eventProperties('c')))
    await bus.publish('events', key, Buffer.alloc(0), eventProperties('c'))
    await bus.publish('events', key, encode(new Uint8Array([1, 2, 3])), eventProperties('c'))
    await bus.publish('events', key, encode(2n ** 70n), eventProperties('c'))
    await m.run
    expect(m.lines().map((line) => line.payload)).toEqual([[1, 2], null, { $bytes: 'AQID' }, '1180591620717411303424'])
  })

  it('shows malformed messages as such and keeps going', async () => {
    const key = uniqueName('MonBad')
    const m = await startMonitor({ events: [key], commands: [key], count: 3 })
    const bus = await publisher()
    await bus.publish('events', key, encode({ a: 1 }), { contentType: 'application/cbor' }) // no conversation_id
    await bus.publish('events', key, Buffer.from([0xa1]), eventProperties('conv-bad')) // truncated CBOR
    await bus.publish('commands', key, encode({}), eventProperties('conv-cmd')) // neither reply_to nor status
    expect(await m.run).toMatchObject({ shown: 3, malformed: 3 })
    const lines = m.lines()
    expect(lines.map((line) => [line.kind, line.queue, line.reason])).toEqual(
      expect.arrayContaining([
        ['malformed', 'events', 'missing-conversation-id'],
        ['malformed', 'events', 'undecodable'],
        ['malformed', 'commands', 'invalid-envelope'],
      ]),
    )
    const undecodable = lines.find((line) => line.reason === 'undecodable')
    expect(undecodable).toMatchObject({ conversationId: 'conv-bad', body: { $bytes: 'oQ==' } })
    expect(undecodable).not.toHaveProperty('payload')
    expect(lines.find((line) => line.reason === 'missing-conversation-id')).toMatchObject({ payload: { a: 1 } })
  })

  it('saves the original bytes under safe names and never overwrites a file', async () => {
    const dir = await useTempDir('am-monitor-')
    const key = uniqueName('MonSave')
    await writeFile(join(dir, `${key}.E.conv_1.cbor`), 'from an earlier run')
    const m = await startMonitor({
      events: [`${key}.#`],
      commands: [`${key}.#`],
      configurations: [`${key}.#`],
      save: true,
      dir,
      count: 5,
    })
    const bus = await publisher()
    const bodies = [encode({ n: 1 }), encode({ n: 2 }), Buffer.from('{"n": 3.0}')]
    // Routing keys cannot hold a slash, conversation ids can: '/' must not leave the directory.
    await bus.publish('events', `${key}.E`, bodies[0] as Buffer, eventProperties('conv/1'))
    await bus.publish('events', `${key}.E`, bodies[1] as Buffer, eventProperties('conv/1'))
    await bus.publish('events', `${key}.E`, bodies[2] as Buffer, asJson(eventProperties('conv/1')))
    await bus.publish('commands', `${key}.R`, encode('done'), resultProperties('conv/1', 'error', 'c'))
    await bus.publish('configurations', `${key}.C`, encode({}), configurationProperties())
    expect(await m.run).toMatchObject({ shown: 5, saved: 5 })
    expect((await readdir(dir)).sort()).toEqual(
      [
        `${key}.C.na.cbor`,
        `${key}.E.conv_1.cbor`,
        `${key}.E.conv_1.2.cbor`,
        `${key}.E.conv_1.3.cbor`,
        `${key}.E.conv_1.json`,
        `${key}.R-result.conv_1.cbor`,
      ].sort(),
    )
    expect(await readFile(join(dir, `${key}.E.conv_1.cbor`), 'utf8')).toBe('from an earlier run')
    expect(await readFile(join(dir, `${key}.E.conv_1.2.cbor`))).toEqual(bodies[0])
    expect(await readFile(join(dir, `${key}.E.conv_1.3.cbor`))).toEqual(bodies[1])
    expect(await readFile(join(dir, `${key}.E.conv_1.json`), 'utf8')).toBe('{"n": 3.0}')
    expect(m.lines().map((line) => line.savedAs)).toContain(join(dir, `${key}.E.conv_1.3.cbor`))
  })

  it('saves the decoded payload as JSON with --json', async () => {
    const dir = await useTempDir('am-monitor-')
    const key = uniqueName('MonJson')
    const m = await startMonitor({ events: [key], save: true, json: true, dir, count: 2 })
    const bus = await publisher()
    await bus.publish('events', key, encode({ big: 2n ** 64n, bytes: new Uint8Array([255]) }), eventProperties('c1'))
    await bus.publish('events', key, encode({ n: 1 }), eventProperties('c1'))
    await m.run
    expect(await readFile(join(dir, `${key}.c1.json`), 'utf8')).toBe(
      '{\n  "big": "18446744073709551616",\n  "bytes": {\n    "$bytes": "/w=="\n  }\n}\n',
    )
    expect(await readFile(join(dir, `${key}.c1.2.json`), 'utf8')).toBe('{\n  "n": 1\n}\n')
  })

  it('prints the human format by default', async () => {
    const key = uniqueName('MonHuman')
    const m = await startMonitor({ commands: [key], count: 1 }, false)
    const bus = await publisher()
    await bus.publish('commands', key, encode({ audio: 'x' }), commandProperties('conv-h', 'me.Back', 'corr-h'))
    await m.run
    const printed = m.memory.messages.filter((message) => message.type === 'log').map((message) => message.text)
    expect(printed).toEqual([
      [
        `Got a Command ${key}`,
        'Conversation ID: conv-h',
        'Correlation ID: corr-h',
        'Return to: me.Back',
        'Metadata: {}',
        'Payload:',
        "{ audio: 'x' }",
        '---------',
        '',
      ].join('\n'),
    ])
    expect(m.memory.stdout()).toBe('')
  })

  it('ends at once on Ctrl-C when only configurations are watched (eventail B7)', async () => {
    const m = await startMonitor({ configurations: [uniqueName('MonQuiet')] })
    const started = Date.now()
    m.memory.abort()
    expect(await m.run).toEqual({ shown: 0, filtered: 0, malformed: 0, saved: 0, stoppedBy: 'signal' })
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('publishes nothing on the bus: no MonitorStarted configuration (eventail T4)', async () => {
    const bus = await publisher()
    const spy = await bus.withChannel(async (channel) => {
      const { queue } = await channel.assertQueue('', { exclusive: false, autoDelete: false, durable: false })
      await channel.bindQueue(queue, 'configurations', 'MonitorStarted')
      return queue
    })
    onTestFinished(async () => {
      await bus.withChannel((channel) => channel.deleteQueue(spy))
    })
    // a pattern of its own: `#` on the shared vhost's configurations exchange would make other
    // suites' deliberately unroutable configurations routable while this runs
    const m = await startMonitor({ configurations: [`${uniqueName('mon')}.#`] })
    await new Promise((resolve) => setTimeout(resolve, 300))
    m.memory.abort()
    await m.run
    expect((await bus.checkQueue(spy)).messageCount).toBe(0)
  })
})
