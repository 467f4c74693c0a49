import { fileURLToPath } from 'node:url'
import { runBinary } from '@am/cli-kit/testing'
import { encode } from '@am/codec'
import { rabbitmqctl, uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import type { DeadLetterDetail, DeadLetterList, ReplayOutcome } from '../src/dead-letters.js'
import { call, testConsole } from './helpers.js'
import { declareWorld, testBus } from './world.js'

const url = inject('amqpUrl')
const resurrectBinary = fileURLToPath(new URL('../../resurrect/dist/cli.js', import.meta.url))

describe('dead letters API', () => {
  it('lists the dead letters with their death details, and leaves the queue as it was (count and order)', async () => {
    const bus = await testBus(url)
    const world = await declareWorld(bus)
    await world.killCommand('conv-1')
    await world.killEvent('conv-2')
    await world.killCommand('conv-3', { n: 3 })
    const { base } = await testConsole(url, { dlqs: [world.dlq] })

    const first = await call(base, `/api/dead-letters?dlq=${world.dlq}`)
    expect(first.status).toBe(200)
    const list = first.body as DeadLetterList
    expect(list.ready).toBe(3)
    expect(list.rows.map((row) => [row.index, row.conversationId, row.kind, row.queue, row.routingKey])).toEqual([
      [1, 'conv-1', 'command', world.commands, world.command],
      [2, 'conv-2', 'event', world.events, world.event],
      [3, 'conv-3', 'command', world.commands, world.command],
    ])
    expect(list.rows[0]).toMatchObject({
      exchange: 'commands',
      reason: 'rejected',
      deaths: 1,
      size: encode({ n: 1 }).length,
      contentType: 'application/cbor',
    })
    expect(Date.parse(list.rows[0]?.diedAt ?? '')).toBeGreaterThan(Date.now() - 120_000)

    // Listed again: same messages, same order, still all in the queue.
    const again = (await call(base, `/api/dead-letters?dlq=${world.dlq}`)).body as DeadLetterList
    expect(again.rows.map((row) => row.id)).toEqual(list.rows.map((row) => row.id))
    expect(await world.count(world.dlq)).toBe(3)

    // Filters: key pattern, queue, reason, time.
    const only = async (query: string) =>
      ((await call(base, `/api/dead-letters?dlq=${world.dlq}&${query}`)).body as DeadLetterList).rows.map(
        (row) => row.conversationId,
      )
    expect(await only(`key=${world.service}.*`)).toEqual(['conv-1', 'conv-3'])
    expect(await only(`queue=${world.events}`)).toEqual(['conv-2'])
    expect(await only('reason=expired')).toEqual([])
    expect(await only(`since=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([])
    expect(await only(`until=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual(['conv-1', 'conv-2', 'conv-3'])
    expect((await call(base, `/api/dead-letters?dlq=${world.dlq}&since=yesterday`)).status).toBe(400)
    expect(await world.count(world.dlq)).toBe(3)
  })

  it('opens one: payload with big integers and bytes shown as such, properties, headers, x-death history', async () => {
    const bus = await testBus(url)
    const world = await declareWorld(bus)
    await world.killCommand('conv-big', { big: 2n ** 70n, raw: new Uint8Array([0, 255]), text: 'héllo' })
    const { base } = await testConsole(url, { dlqs: [world.dlq] })
    const [row] = ((await call(base, `/api/dead-letters?dlq=${world.dlq}`)).body as DeadLetterList).rows
    const detail = (await call(base, `/api/dead-letters/${row?.id}?dlq=${world.dlq}`)).body as DeadLetterDetail
    expect(detail.payload).toEqual({
      big: { $bigint: (2n ** 70n).toString() },
      raw: { $bytes: '00ff', length: 2 },
      text: 'héllo',
    })
    expect(detail.properties).toMatchObject({
      contentType: 'application/cbor',
      replyTo: world.replyTo,
      correlationId: 'corr-1',
    })
    expect(detail.headers).toMatchObject({ conversation_id: 'conv-big' })
    expect(detail.history).toEqual([
      {
        queue: world.commands,
        reason: 'rejected',
        count: 1,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        exchange: 'commands',
        routingKeys: [world.command],
      },
    ])
    expect(await world.count(world.dlq)).toBe(1)
    expect((await call(base, `/api/dead-letters/nope-1?dlq=${world.dlq}`)).status).toBe(404)
  })

  it('shows bad input as such: an undecodable body, a huge body, a body without content type', async () => {
    const bus = await testBus(url)
    const world = await declareWorld(bus)
    await world.killRaw('commands', world.command, Buffer.from([0xff, 0xfe, 0x00]), {
      contentType: 'application/cbor',
      headers: { conversation_id: 'bad' },
    })
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x61)
    await world.killRaw('commands', world.command, huge, {
      contentType: 'application/json',
      headers: { conversation_id: 'huge' },
    })
    await world.killRaw('commands', world.command, Buffer.from('not json'), { headers: { conversation_id: 'plain' } })
    const { base } = await testConsole(url, { dlqs: [world.dlq] })
    const rows = ((await call(base, `/api/dead-letters?dlq=${world.dlq}`)).body as DeadLetterList).rows
    expect(rows.map((row) => [row.conversationId, row.size])).toEqual([
      ['bad', 3],
      ['huge', huge.length],
      ['plain', 8],
    ])
    const open = async (index: number) =>
      (await call(base, `/api/dead-letters/${rows[index]?.id}?dlq=${world.dlq}`)).body as DeadLetterDetail
    const bad = await open(0)
    expect(bad.payload).toBeUndefined()
    expect(bad.payloadError).toEqual(expect.any(String))
    expect(bad.body).toEqual({ $bytes: 'fffe00', length: 3 })
    const big = await open(1)
    expect(big.payloadError).toMatch(/too large to decode here \(5242880 bytes\)/)
    expect(big.body?.length).toBe(huge.length)
    expect(big.body?.$bytes.length).toBe(2 * 64 * 1024)
    const plain = await open(2)
    expect(plain.payloadError).toEqual(expect.any(String))
    expect(Buffer.from(plain.body?.$bytes ?? '', 'hex').toString()).toBe('not json')
    expect(await world.count(world.dlq)).toBe(3)
  })

  it('plans each replay as am-resurrect decides, and replays selected ones where it says', async () => {
    const bus = await testBus(url)
    const world = await declareWorld(bus)
    await world.killCommand('conv-c')
    await world.killEvent('conv-e')
    const { base, memory } = await testConsole(url, { dlqs: [world.dlq] })
    const rows = ((await call(base, `/api/dead-letters?dlq=${world.dlq}`)).body as DeadLetterList).rows
    const ids = rows.map((row) => row.id)

    const plan = (await call(base, '/api/plan', { dlq: world.dlq, ids })).body as { plan: ReplayOutcome[] }
    const dry = await runBinary(resurrectBinary, [url, world.dlq, '--dry-run', '--ndjson'])
    const resurrectLines = dry.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => !('summary' in line))
    expect(plan.plan.map(({ id: _id, ...report }) => report)).toEqual(resurrectLines)
    expect(plan.plan.map((entry) => entry.action)).toEqual(['would-replay', 'left'])
    expect(plan.plan[0]?.to).toEqual({ exchange: 'commands', routingKey: world.command })
    expect(await world.count(world.dlq)).toBe(2)

    // The audit log on the bus.
    const auditQueue = uniqueName('am-con-audit')
    await bus.withChannel(async (channel) => {
      await channel.assertQueue(auditQueue, { exclusive: false, autoDelete: false, durable: false })
      await channel.bindQueue(auditQueue, 'logs', 'am-console.NOTICE')
    })
    onTestFinished(async () => {
      await bus.withChannel((channel) => channel.deleteQueue(auditQueue))
    })

    const replay = await call(base, '/api/replay', { dlq: world.dlq, ids: [ids[0]], who: 'tester' })
    expect(replay.status).toBe(200)
    const outcomes = (replay.body as { outcomes: ReplayOutcome[] }).outcomes
    expect(outcomes).toMatchObject([
      { id: ids[0], action: 'replayed', to: { exchange: 'commands', routingKey: world.command } },
    ])
    // Confirmed before the answer: the dead letter is gone, its copy is in its service's queue.
    expect(await world.count(world.dlq)).toBe(1)
    expect(await world.count(world.commands)).toBe(1)
    const left = ((await call(base, `/api/dead-letters?dlq=${world.dlq}`)).body as DeadLetterList).rows
    expect(left.map((row) => row.conversationId)).toEqual(['conv-e'])

    const audits = memory.json().filter((line) => typeof line === 'object' && line !== null && 'audit' in line)
    expect(audits).toEqual([
      {
        audit: expect.objectContaining({
          who: 'tester',
          from: '127.0.0.1',
          action: 'replay',
          dlq: world.dlq,
          selection: { ids: [ids[0]] },
        }),
      },
    ])
    const log = await bus.withChannel((channel) =>
      waitFor(() => channel.get(auditQueue, { noAck: true }), 5_000, 'the audit log'),
    )
    const record = JSON.parse(log.content.toString()) as Record<string, unknown>
    expect(record).toMatchObject({
      _who: 'tester',
      _action: 'replay',
      _dlq: world.dlq,
      _logical_service: 'am-console',
      level: 5,
    })
    expect(String(record.short_message)).toContain('1 replayed')
  })

  it('replays by filter with --to-queue routing, and deletes selected ones after the broker took the acks', async () => {
    const bus = await testBus(url)
    const world = await declareWorld(bus)
    await world.killEvent('conv-1')
    await world.killCommand('conv-2')
    await world.killEvent('conv-3')
    const { base, memory } = await testConsole(url, { dlqs: [world.dlq] })
    const replay = await call(base, '/api/replay', {
      dlq: world.dlq,
      filter: { key: world.event },
      mode: 'to-queue',
      who: 'ops',
    })
    expect(
      (replay.body as { outcomes: ReplayOutcome[] }).outcomes.map((o) => [o.conversationId, o.action, o.to]),
    ).toEqual([
      ['conv-1', 'replayed', { exchange: '', routingKey: world.events }],
      ['conv-3', 'replayed', { exchange: '', routingKey: world.events }],
    ])
    expect(await world.count(world.events)).toBe(2)
    const rows = ((await call(base, `/api/dead-letters?dlq=${world.dlq}`)).body as DeadLetterList).rows
    expect(rows.map((row) => row.conversationId)).toEqual(['conv-2'])

    expect((await call(base, '/api/delete', { dlq: world.dlq, filter: {} })).status).toBe(400)
    const deleted = await call(base, '/api/delete', { dlq: world.dlq, ids: [rows[0]?.id, 'gone-1'], who: 'ops' })
    expect(deleted.body).toMatchObject({ deleted: [rows[0]?.id], missing: ['gone-1'], audited: true })
    expect(await world.count(world.dlq)).toBe(0)
    expect(
      memory
        .json()
        .filter((line) => 'audit' in (line as object))
        .map((line) => (line as { audit: { action: string } }).audit.action),
    ).toEqual(['replay', 'delete'])
  })
})

describe('access', () => {
  it('off loopback, refuses every request without the token', async () => {
    const { console: running, base } = await testConsole(url, { host: '0.0.0.0', live: false })
    const token = running.server.token ?? ''
    expect(token.length).toBeGreaterThanOrEqual(32)
    const local = base.replace('0.0.0.0', '127.0.0.1')
    expect((await call(local, '/api/info')).status).toBe(401)
    expect((await call(local, '/')).status).toBe(401)
    expect((await call(local, '/api/info', undefined, { authorization: 'Bearer wrong' })).status).toBe(401)
    expect((await call(local, '/api/replay', { ids: [] })).status).toBe(401)
    expect((await call(local, '/api/info', undefined, { authorization: `Bearer ${token}` })).status).toBe(200)
    expect((await call(local, `/api/info?token=${token}`)).status).toBe(200)
    const page = await fetch(new URL(`/?token=${token}`, local), { redirect: 'manual' })
    expect(page.status).toBe(303)
    expect(page.headers.get('set-cookie')).toBe(`am_console_token=${token}; HttpOnly; SameSite=Strict; Path=/`)
    expect((await call(local, '/', undefined, { cookie: `am_console_token=${token}` })).status).toBe(200)
  })

  it('on loopback, refuses other host names (DNS rebinding) and cross-site actions', async () => {
    const { base } = await testConsole(url)
    expect((await call(base, '/api/info')).status).toBe(200)
    const { port } = new URL(base)
    const rebound = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ get }) => {
        get({ host: '127.0.0.1', port, path: '/api/info', headers: { host: `evil.example:${port}` } }, (response) => {
          response.resume()
          resolve(response.statusCode ?? 0)
        }).on('error', reject)
      }, reject)
    })
    expect(rebound).toBe(403)
    expect((await call(base, '/api/plan', { ids: [] }, { origin: 'http://evil.example' })).status).toBe(403)
    const form = await fetch(new URL('/api/delete', base), {
      method: 'POST',
      body: 'ids=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(form.status).toBe(415)
  })

  it('never sends nor prints the broker credentials', async () => {
    const user = uniqueName('am-con-user')
    const password = uniqueName('S3cret-pw')
    const vhost = decodeURIComponent(new URL(url).pathname.slice(1)) || '/'
    await rabbitmqctl('add_user', user, password)
    onTestFinished(async () => {
      await rabbitmqctl('delete_user', user)
    })
    await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*')
    await rabbitmqctl('set_user_tags', user, 'management')
    const secretUrl = new URL(url)
    secretUrl.username = user
    secretUrl.password = password
    const bus = await testBus(url)
    const world = await declareWorld(bus)
    await world.killCommand('conv-s')
    const { base, memory } = await testConsole(secretUrl.href, { dlqs: [world.dlq, 'no-such-dlq'] })
    const rows = ((await call(base, `/api/dead-letters?dlq=${world.dlq}`)).body as DeadLetterList).rows
    const answers = [
      await call(base, '/api/info'),
      await call(base, `/api/dead-letters?dlq=${world.dlq}`),
      await call(base, `/api/dead-letters/${rows[0]?.id}?dlq=${world.dlq}`),
      await call(base, '/api/dead-letters?dlq=no-such-dlq'),
      await call(base, '/api/queues'),
      await call(base, '/api/conversations/conv-s'),
      await call(base, '/api/plan', { dlq: world.dlq, ids: [rows[0]?.id] }),
      await call(base, '/api/replay', { dlq: world.dlq, ids: [rows[0]?.id], who: 'me' }),
      await call(base, '/'),
      await call(base, '/app.js'),
    ]
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 404, 200, 200, 200, 200, 200, 200])
    expect((answers[0]?.body as { broker?: string } | undefined)?.broker).toBe(
      `amqp://${user}:***@${secretUrl.host}${secretUrl.pathname}`,
    )
    for (const answer of answers) expect(answer.text).not.toContain(password)
    expect(memory.stdout()).not.toContain(password)
    expect(memory.stderr()).not.toContain(password)
  })
})
