import { runPython } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import { commandProperties, eventProperties, isRawBody, rawBody, ServiceError } from '../src/index.js'
import { cleanupQueues, peer, run, send, spy, TableService, uniqueName } from './helpers.js'

// {"x": 1.0} as Python's cbor2 writes it: the float 1.0 is a float64, fb3ff0000000000000.
const PYTHON_FLOAT_BODY = Buffer.from('a16178fb3ff0000000000000', 'hex')
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('byte-exact forwarding', () => {
  it('relays a CBOR float 1.0 unchanged with ctx.raw, where re-encoding the payload makes it an integer', async () => {
    const name = uniqueName('raw-relay')
    cleanupQueues(name)
    const inEvent = uniqueName('Measured')
    const exact = uniqueName('Relayed')
    const decoded = uniqueName('Reencoded')
    const bus = await peer()
    const exactSpy = await spy(bus, 'events', exact)
    const decodedSpy = await spy(bus, 'events', decoded)
    const seen: unknown[] = []
    await run(
      (o) =>
        new TableService(
          name,
          {
            events: {
              [inEvent]: async (payload, ctx) => {
                seen.push({ payload, raw: Buffer.from(ctx.raw.body).toString('hex'), type: ctx.raw.contentType })
                await ctx.publishEvent(exact, ctx.raw)
                await ctx.publishEvent(decoded, payload)
              },
            },
          },
          o,
        ),
    )
    await send(bus, 'events', inEvent, undefined, eventProperties('conv-raw'), PYTHON_FLOAT_BODY)
    const [forwarded, reencoded] = [await exactSpy.nth(1), await decodedSpy.nth(1)]
    expect(seen).toEqual([{ payload: { x: 1 }, raw: 'a16178fb3ff0000000000000', type: 'application/cbor' }])
    expect([forwarded, reencoded].map((m) => [m.body.toString('hex'), m.properties.contentType, m.headers])).toEqual([
      ['a16178fb3ff0000000000000', 'application/cbor', { conversation_id: 'conv-raw' }],
      ['a1617801', 'application/cbor', { conversation_id: 'conv-raw' }],
    ])
    // Python's cbor2 reads the forwarded body as the float it was.
    const typeInPython = await runPython(
      'import sys, cbor2; v = cbor2.loads(bytes.fromhex(sys.argv[1]))["x"]; print(type(v).__name__, repr(v))',
      [forwarded.body.toString('hex')],
    )
    expect(typeInPython).toBe('float 1.0\n')
  })

  it('sends raw bodies with their own content type from every publish method', async () => {
    const name = uniqueName('raw-all')
    cleanupQueues(name)
    const keys = {
      event: uniqueName('RawEvent'),
      command: `${name}.RawCommand`,
      success: uniqueName('raw.Ok'),
      error: uniqueName('raw.Err'),
      configuration: uniqueName('RawConfig'),
    }
    const bus = await peer()
    const spies = {
      event: await spy(bus, 'events', keys.event),
      command: await spy(bus, 'commands', keys.command),
      success: await spy(bus, 'commands', keys.success),
      error: await spy(bus, 'commands', keys.error),
      configuration: await spy(bus, 'configurations', keys.configuration),
    }
    const json = rawBody(Buffer.from('{"a": NaN}'), 'application/json')
    const cbor = rawBody(new Uint8Array(PYTHON_FLOAT_BODY), 'application/cbor')
    const service = await run((o) => new TableService(name, {}, o))
    await Promise.all([
      service.publishEvent(keys.event, json, { conversationId: 'c-e' }),
      service.sendCommand(keys.command, cbor, { conversationId: 'c-c', replyTo: keys.success, correlationId: 'k1' }),
      service.returnSuccess(keys.success, json, { conversationId: 'c-s', correlationId: 'k2' }),
      service.returnError(keys.error, cbor, { conversationId: 'c-x', correlationId: 'k3' }),
      service.publishConfiguration(keys.configuration, json),
    ])
    const got = await Promise.all(
      Object.values(spies).map(async (s) => {
        const m = await s.nth(1)
        return [m.body.toString('latin1'), m.properties.contentType, m.properties.correlationId]
      }),
    )
    const cborText = PYTHON_FLOAT_BODY.toString('latin1')
    expect(got).toEqual([
      ['{"a": NaN}', 'application/json', ''],
      [cborText, 'application/cbor', 'k1'],
      ['{"a": NaN}', 'application/json', 'k2'],
      [cborText, 'application/cbor', 'k3'],
      ['{"a": NaN}', 'application/json', ''],
    ])
  })

  it('forwards a command body to another service and its result back, both byte-exact, from a handler', async () => {
    const name = uniqueName('raw-proxy')
    cleanupQueues(name)
    const replyKey = uniqueName('raw.ProxyReturn')
    const downstream = uniqueName('raw.Downstream')
    const bus = await peer()
    const forwarded = await spy(bus, 'commands', downstream)
    const results = await spy(bus, 'commands', replyKey)
    await run(
      (o) =>
        new TableService(
          name,
          {
            commands: {
              [`${name}.Proxy`]: async (_payload, ctx) => {
                await ctx.sendCommand(downstream, ctx.raw, { replyTo: `${name}.Done`, correlationId: 'down-1' })
                await ctx.returnSuccess(ctx.raw)
              },
            },
          },
          o,
        ),
    )
    await send(
      bus,
      'commands',
      `${name}.Proxy`,
      undefined,
      commandProperties('c-p', replyKey, 'up-1', 'application/json'),
      Buffer.from('[1.0, Infinity]'),
    )
    const [command, result] = [await forwarded.nth(1), await results.nth(1)]
    expect(
      [command, result].map((m) => [
        m.body.toString(),
        m.properties.contentType,
        m.properties.correlationId,
        Object.entries(m.headers),
      ]),
    ).toEqual([
      ['[1.0, Infinity]', 'application/json', 'down-1', [['conversation_id', 'c-p']]],
      [
        '[1.0, Infinity]',
        'application/json',
        'up-1',
        [
          ['status', 'success'],
          ['conversation_id', 'c-p'],
        ],
      ],
    ])
  })
})

describe('rawBody', () => {
  it('wraps bytes and a content type, recognised by isRawBody', () => {
    const bytes = new Uint8Array([1, 2])
    const raw = rawBody(bytes, 'application/cbor')
    expect([raw.body, raw.contentType, isRawBody(raw), isRawBody({ body: bytes, contentType: 'x' })]).toEqual([
      bytes,
      'application/cbor',
      true,
      false,
    ])
    expect(Object.isFrozen(raw)).toBe(true)
  })

  it('refuses what is not bytes or has no content type', () => {
    const bad = [
      () => rawBody('text' as unknown as Uint8Array, 'application/json'),
      () => rawBody(new Uint8Array(), undefined as unknown as string),
    ]
    expect(
      bad.map((make) => {
        try {
          make()
          return 'no error'
        } catch (error) {
          return [error instanceof ServiceError, (error as ServiceError).code, (error as Error).message]
        }
      }),
    ).toEqual([
      [true, 'SERVICE_INVALID', 'rawBody needs the bytes as a Uint8Array or a Buffer'],
      [true, 'SERVICE_INVALID', "rawBody needs the content type, e.g. 'application/cbor'"],
    ])
  })
})

describe('command correlation ids', () => {
  it('are a fresh UUID when none or an empty one is given, and kept when given', async () => {
    const name = uniqueName('corr')
    cleanupQueues(name)
    const command = `${name}.Do`
    const bus = await peer()
    const commands = await spy(bus, 'commands', command)
    const service = await run((o) => new TableService(name, {}, o))
    const options = { conversationId: 'c-corr', replyTo: `${name}.Done` }
    await service.sendCommand(command, 1, options)
    await service.sendCommand(command, 2, { ...options, correlationId: '' })
    await service.sendCommand(command, 3, { ...options, correlationId: 'mine' })
    await commands.nth(3)
    const ids = commands.messages.map((m) => [commands.payload(m), m.properties.correlationId])
    expect(ids).toEqual([
      [1, expect.stringMatching(UUID)],
      [2, expect.stringMatching(UUID)],
      [3, 'mine'],
    ])
    expect(ids[0]?.[1]).not.toBe(ids[1]?.[1])
  })

  it('are a fresh UUID for a command sent from a handler without one', async () => {
    const name = uniqueName('corr-ctx')
    cleanupQueues(name)
    const inEvent = uniqueName('Trigger')
    const command = `${name}.Next`
    const bus = await peer()
    const commands = await spy(bus, 'commands', command)
    await run(
      (o) =>
        new TableService(
          name,
          {
            events: {
              [inEvent]: (_payload, ctx) =>
                ctx.sendCommand(command, 'go', { replyTo: `${name}.Done`, correlationId: '' }),
            },
          },
          o,
        ),
    )
    await send(bus, 'events', inEvent, 0, eventProperties('c-ctx'))
    const message = await commands.nth(1)
    expect([message.properties.correlationId, message.headers]).toEqual([
      expect.stringMatching(UUID),
      { conversation_id: 'c-ctx' },
    ])
  })
})
