import { commandProperties, eventProperties, resultProperties } from '@am/protocol'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  batch,
  type Handlers,
  type InferMessages,
  type InvalidPayloadResult,
  type Publications,
  Service,
  ServiceError,
  type ServiceOptions,
  type StandardSchemaV1,
} from '../src/index.js'
import {
  cleanupQueues,
  deadLetters,
  logSpy,
  peer,
  run,
  send,
  spy,
  TableService,
  unacked,
  uniqueName,
  waitFor,
} from './helpers.js'

const SignedUp = z.object({ userId: z.string(), plan: z.enum(['free', 'pro']).default('free') })
const Send = z.object({ userId: z.string(), text: z.string().min(1) })
const Sent = z.object({ userId: z.string() })

/** A Standard Schema whose check is asynchronous: a positive integer, checked on the next turn. */
const asyncPositive: StandardSchemaV1<unknown, number> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: async (value) => {
      await new Promise((resolve) => setImmediate(resolve))
      return typeof value === 'number' && Number.isInteger(value) && value > 0
        ? { value }
        : { issues: [{ message: 'expected a positive integer', path: [] }] }
    },
  },
}

describe('payload schemas on the handler table (real broker)', () => {
  it('gives the handler the parsed payload of a valid event (defaults applied)', async () => {
    const name = uniqueName('schema-ok')
    cleanupQueues(name)
    const bus = await peer()
    const handled: unknown[] = []
    await run(
      (o) =>
        new TableService(
          name,
          { events: { [`${name}.SignedUp`]: { schema: SignedUp, handler: (p) => void handled.push(p) } } },
          o,
        ),
    )
    await send(bus, 'events', `${name}.SignedUp`, { userId: 'u1' }, eventProperties('c1'))
    await waitFor(() => handled.length === 1, 10_000, 'the handler')
    expect(handled).toEqual([{ userId: 'u1', plan: 'free' }])
    await waitFor(async () => (await unacked(`${name}.events`)) === 0, 10_000, 'the ack')
  })

  it('dead-letters an invalid event with one EMERGENCY naming the paths, never retried, handler not run', async () => {
    const name = uniqueName('schema-bad-event')
    cleanupQueues(name)
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    let calls = 0
    await run(
      (o) =>
        new TableService(
          name,
          {
            events: {
              [`${name}.SignedUp`]: {
                schema: SignedUp,
                handler: () => {
                  calls += 1
                },
              },
            },
          },
          o,
        ),
    )
    await send(bus, 'events', `${name}.SignedUp`, { a: 1, plan: 'gold' }, eventProperties('c-bad'))
    const deadLetter = await dead.nth(1)
    expect(deadLetter.routingKey).toBe(`${name}.SignedUp`)
    expect(deadLetter.redelivered).toBe(false)
    const deaths = deadLetter.headers['x-death'] as Array<{ count: number; reason: string }>
    expect(deaths.map((d) => [d.reason, d.count])).toEqual([['rejected', 1]])
    await waitFor(() => logs.levels().includes('EMERGENCY'), 10_000, 'the EMERGENCY log')
    const emergencies = logs.logs().filter((l) => l._levelname === 'EMERGENCY')
    expect(emergencies).toHaveLength(1)
    expect(emergencies[0]?.short_message).toMatch(
      new RegExp(`^Invalid event ${name}\\.SignedUp: userId: .+; plan: .+; dead lettering\\.$`),
    )
    expect(emergencies[0]?._conversation_id).toBe('c-bad')
    expect(JSON.parse(emergencies[0]?.full_message as string).map((i: { path: string }) => i.path)).toEqual([
      'userId',
      'plan',
    ])
    expect(calls).toBe(0)
  })

  it('answers an invalid command with an error result naming the paths, one ERROR, and acks it', async () => {
    const name = uniqueName('schema-bad-cmd')
    cleanupQueues(name)
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const logs = await logSpy(bus, name)
    const replyKey = uniqueName('reply')
    const replies = await spy(bus, 'commands', replyKey)
    await run(
      (o) =>
        new TableService(
          name,
          { commands: { [`${name}.Send`]: { schema: Send, handler: (_p, ctx) => ctx.returnSuccess('sent') } } },
          o,
        ),
    )
    await send(bus, 'commands', `${name}.Send`, { userId: 7, text: '' }, commandProperties('c-cmd', replyKey, 'corr-1'))
    const reply = await replies.nth(1)
    expect(reply.headers).toMatchObject({ status: 'error', conversation_id: 'c-cmd' })
    expect(reply.properties.correlationId).toBe('corr-1')
    const payload = replies.payload(reply) as InvalidPayloadResult
    expect(payload).toEqual({
      error: 'invalid_payload',
      message: `the payload of ${name}.Send does not match its schema`,
      issues: [
        { path: 'userId', message: expect.any(String) },
        { path: 'text', message: expect.any(String) },
      ],
    })
    await waitFor(async () => (await unacked(`${name}.commands`)) === 0, 10_000, 'the ack')
    await waitFor(() => logs.levels().includes('ERROR'), 10_000, 'the ERROR log')
    expect(logs.levels().filter((l) => l === 'ERROR' || l === 'EMERGENCY' || l === 'ALERT')).toEqual(['ERROR'])
    expect(logs.logs().find((l) => l._levelname === 'ERROR')?.short_message).toBe(
      `Invalid command ${name}.Send: userId: ${payload.issues[0]?.message}; text: ${payload.issues[1]?.message}; returning an error result.`,
    )
    // A valid one still reaches the handler; the invalid one was acked, not dead-lettered.
    await send(
      bus,
      'commands',
      `${name}.Send`,
      { userId: 'u', text: 'hi' },
      commandProperties('c2', replyKey, 'corr-2'),
    )
    const ok = await replies.nth(2)
    expect([ok.headers.status, replies.payload(ok)]).toEqual(['success', 'sent'])
    expect(dead.messages).toHaveLength(0)
  })

  it('supports asynchronous schemas, on results too', async () => {
    const name = uniqueName('schema-async')
    cleanupQueues(name)
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const handled: number[] = []
    await run(
      (o) =>
        new TableService(
          name,
          {
            results: { [`${name}.Counted`]: { schema: asyncPositive, handler: (p) => void handled.push(p as number) } },
          },
          o,
        ),
    )
    await send(bus, 'commands', `${name}.Counted`, 3, resultProperties('c', 'success', 'k'))
    await send(bus, 'commands', `${name}.Counted`, -1, resultProperties('c', 'success', 'k'))
    const deadLetter = await dead.nth(1)
    expect(dead.payload(deadLetter)).toBe(-1)
    await waitFor(() => handled.length === 1, 10_000, 'the valid result')
    expect(handled).toEqual([3])
  })

  it('checks each message of a batch() entry before it joins the batch', async () => {
    const name = uniqueName('schema-batch')
    cleanupQueues(name)
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const batches: unknown[][] = []
    await run(
      (o) =>
        new TableService(
          name,
          {
            events: {
              [`${name}.SignedUp`]: {
                schema: SignedUp,
                handler: batch({ maxEntries: 2, timeoutMs: 60_000 }, (entries) => {
                  batches.push(entries.map((e) => e.payload))
                }),
              },
            },
          },
          o,
        ),
      { prefetch: 3 },
    )
    await send(bus, 'events', `${name}.SignedUp`, { userId: 'a' }, eventProperties('c'))
    await send(bus, 'events', `${name}.SignedUp`, { nope: true }, eventProperties('c'))
    await send(bus, 'events', `${name}.SignedUp`, { userId: 'b', plan: 'pro' }, eventProperties('c'))
    await waitFor(() => batches.length === 1, 10_000, 'the batch')
    expect(batches).toEqual([
      [
        { userId: 'a', plan: 'free' },
        { userId: 'b', plan: 'pro' },
      ],
    ])
    expect(dead.payload(await dead.nth(1))).toEqual({ nope: true })
  })

  it('refuses an entry whose schema is not a Standard Schema', async () => {
    const name = uniqueName('schema-invalid-entry')
    const service = new TableService(
      name,
      { events: { X: { schema: { parse: () => 1 } as never, handler: () => undefined } } },
      { urls: 'amqp://127.0.0.1:1', handleSignals: false },
    )
    await expect(service.start()).rejects.toMatchObject({
      code: 'SERVICE_INVALID',
      message: `the schema of 'X' in ${name} is not a Standard Schema v1 (zod ≥ 3.24, valibot ≥ 1, arktype…)`,
    })
  })
})

const schemas = {
  events: { 'st.user.SignedUp': SignedUp, 'st.welcome.Sent': Sent },
  commands: { 'st.welcome.Send': Send, 'st.mailer.Deliver': z.object({ to: z.string() }) },
}
type Messages = InferMessages<typeof schemas>

/** A service typed from its schemas, declaring what it publishes. */
class Welcome extends Service<Messages> {
  readonly name: string
  constructor(
    name: string,
    options: ServiceOptions,
    readonly onSignedUp: (ctx: { publish: (userId: unknown) => Promise<void> }) => Promise<void> = async () => {},
  ) {
    super(options)
    this.name = name
  }
  protected handlers(): Handlers<Messages> {
    return {
      events: {
        'st.user.SignedUp': {
          schema: SignedUp,
          handler: async (payload, ctx) => {
            // The payload type comes from the schema: `plan` is known.
            const plan: 'free' | 'pro' = payload.plan
            void plan
            await this.onSignedUp({ publish: (userId) => ctx.publishEvent('st.welcome.Sent', { userId } as never) })
          },
        },
      },
    }
  }
  protected override publishes(): Publications<Messages> {
    return { events: { 'st.welcome.Sent': Sent }, commands: { 'st.mailer.Deliver': true } }
  }
}

describe('outputs checked against the declared publications (real broker)', () => {
  it('validateOutputs: an invalid payload fails with OUTPUT_INVALID and nothing is sent', async () => {
    const name = uniqueName('schema-out')
    cleanupQueues(name)
    const bus = await peer()
    const sent = await spy(bus, 'events', 'st.welcome.Sent')
    const service = await run((o) => new Welcome(name, o), { validateOutputs: true })
    const refused = service.publishEvent('st.welcome.Sent', { userId: 42 } as never, { conversationId: 'c' })
    await expect(refused).rejects.toBeInstanceOf(ServiceError)
    await expect(refused).rejects.toMatchObject({
      code: 'OUTPUT_INVALID',
      message: expect.stringMatching(
        /^the payload of st\.welcome\.Sent does not match its schema: userId: .+; not sent$/,
      ),
    })
    await service.publishEvent('st.welcome.Sent', { userId: 'ok' }, { conversationId: 'c' })
    expect(sent.payload(await sent.nth(1))).toEqual({ userId: 'ok' })
    expect(sent.messages).toHaveLength(1)
    // Without the option, the same payload goes.
    const off = uniqueName('schema-out-off')
    cleanupQueues(off)
    const loose = await run((o) => new Welcome(off, o))
    await loose.publishEvent('st.welcome.Sent', { userId: 42 } as never, { conversationId: 'c' })
    expect(sent.payload(await sent.nth(2))).toEqual({ userId: 42 })
  })

  it('strictPublications: an undeclared key fails with PUBLISH_UNDECLARED; declared ones go', async () => {
    const name = uniqueName('schema-strict')
    cleanupQueues(name)
    const bus = await peer()
    const sent = await spy(bus, 'events', 'st.user.SignedUp')
    const service = await run((o) => new Welcome(name, o), { strictPublications: true })
    await expect(
      service.publishEvent('st.user.SignedUp', { userId: 'x', plan: 'free' }, { conversationId: 'c' }),
    ).rejects.toMatchObject({
      code: 'PUBLISH_UNDECLARED',
      message: `${name} does not declare st.user.SignedUp among the events it publishes: not sent`,
    })
    await service.publishEvent('st.welcome.Sent', { userId: 'y' }, { conversationId: 'c' })
    expect(sent.messages).toHaveLength(0)
  })

  it('an invalid output in a handler fails that message like any failed publish', async () => {
    const name = uniqueName('schema-out-handler')
    cleanupQueues(name)
    const bus = await peer()
    const dead = await deadLetters(bus, name)
    const errors: unknown[] = []
    await run(
      (o) =>
        new Welcome(name, o, async ({ publish }) => {
          await publish(42).catch((error: unknown) => void errors.push(error))
        }),
      { validateOutputs: true },
    )
    await send(bus, 'events', 'st.user.SignedUp', { userId: 'u' }, eventProperties('c'))
    await dead.nth(1)
    expect(errors.map((e) => (e as ServiceError).code)).toEqual(['OUTPUT_INVALID', 'OUTPUT_INVALID'])
  })
})

describe('types', () => {
  it('infers payloads from schemas and lets a service declare only the kinds it uses', () => {
    type Only = { events: { A: { a: number } } }
    class OnlyEvents extends Service<Only> {
      readonly name = 'only'
      protected handlers(): Handlers<Only> {
        return { events: { A: (payload) => void payload.a.toFixed() } }
      }
      check(): void {
        void this.publishEvent('A', { a: 1 }, { conversationId: '' }).catch(() => undefined)
        // @ts-expect-error: no commands declared
        void this.sendCommand('x.Y', {}, { conversationId: '', replyTo: 'r' }).catch(() => undefined)
        // @ts-expect-error: wrong payload
        void this.publishEvent('A', { a: 'x' }, { conversationId: '' }).catch(() => undefined)
      }
    }
    const service = new OnlyEvents({ urls: 'amqp://127.0.0.1:1', handleSignals: false })
    service.check()
    expect(Object.keys(service.describe().operations as object)).toEqual(['receive.event.A', 'send.log.only'])
  })
})
