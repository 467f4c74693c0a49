import { encode } from '@am/codec'
import { describe, expect, it } from 'vitest'
import {
  commandProperties,
  configurationProperties,
  type DeliveryLike,
  eventProperties,
  gelf,
  openEnvelope,
  resultProperties,
} from '../src/index.js'

function delivery(body: Buffer, properties: Record<string, unknown>, routingKey = 'svc.Do'): DeliveryLike {
  return {
    body,
    routingKey,
    exchange: 'commands',
    redelivered: false,
    properties,
    get headers() {
      return (properties.headers ?? {}) as Record<string, unknown>
    },
  } as unknown as DeliveryLike
}

describe('publish properties', () => {
  it('match eventail for each kind (docs/protocol.md, properties per kind)', () => {
    expect({
      event: eventProperties('c1'),
      command: commandProperties('c1', 'me.Done', 'corr'),
      result: resultProperties('c1', 'success', 'corr', 'application/json'),
      configuration: configurationProperties(),
    }).toEqual({
      event: {
        contentType: 'application/cbor',
        headers: { conversation_id: 'c1' },
        deliveryMode: 2,
        correlationId: '',
        replyTo: '',
      },
      command: {
        contentType: 'application/cbor',
        headers: { conversation_id: 'c1' },
        deliveryMode: 2,
        correlationId: 'corr',
        replyTo: 'me.Done',
      },
      result: {
        contentType: 'application/json',
        headers: { status: 'success', conversation_id: 'c1' },
        deliveryMode: 2,
        correlationId: 'corr',
        replyTo: '',
      },
      configuration: {
        contentType: 'application/cbor',
        headers: { conversation_id: '' },
        deliveryMode: 2,
        correlationId: '',
        replyTo: '',
      },
    })
    expect(Object.keys(resultProperties('c', 'error', '').headers ?? {})).toEqual(['status', 'conversation_id'])
  })
})

describe('openEnvelope', () => {
  const cbor = 'application/cbor'
  it('classifies a command by its reply-to and keeps other headers as meta', () => {
    const d = delivery(encode({ a: 1 }), {
      contentType: cbor,
      replyTo: 'me.Done',
      correlationId: 'x',
      headers: { conversation_id: 'c', status: 's', custom: 'kept' },
    })
    expect(openEnvelope(d, 'commands')).toEqual({
      kind: 'command',
      payload: { a: 1 },
      conversationId: 'c',
      correlationId: 'x',
      replyTo: 'me.Done',
      status: 's',
      headers: { custom: 'kept' },
    })
  })

  it('classifies a result by its status when there is no reply-to', () => {
    const d = delivery(encode(1), {
      contentType: cbor,
      replyTo: '',
      headers: { conversation_id: 'c', status: 'error' },
    })
    expect(openEnvelope(d, 'commands')).toMatchObject({ kind: 'result', status: 'error', payload: 1 })
  })

  it('keeps a status header in an event meta (eventail does)', () => {
    const d = delivery(encode(null), { contentType: cbor, headers: { conversation_id: 'c', status: 'x' } })
    expect(openEnvelope(d, 'events')).toMatchObject({ kind: 'event', headers: { status: 'x' } })
  })

  it.each([
    [
      'missing conversation id',
      delivery(encode(1), { contentType: cbor, headers: {} }),
      'events',
      'missing-conversation-id',
      'Missing headers on svc.Do',
    ],
    [
      'no headers at all',
      delivery(encode(1), { contentType: cbor }),
      'events',
      'missing-conversation-id',
      'Missing headers on svc.Do',
    ],
    [
      'conversation id of another type',
      delivery(encode(1), { contentType: cbor, headers: { conversation_id: 42 } }),
      'events',
      'invalid-header',
      'Invalid conversation_id header on svc.Do; dead lettering.',
    ],
    [
      'truncated CBOR',
      delivery(Buffer.from('a1', 'hex'), { contentType: cbor, headers: { conversation_id: 'c' } }),
      'events',
      'undecodable',
      'Unable to decode payload for svc.Do; dead lettering.',
    ],
    [
      'unknown content type',
      delivery(Buffer.from('x'), { contentType: 'text/plain', headers: { conversation_id: 'c' } }),
      'events',
      'undecodable',
      'Unable to decode payload for svc.Do; dead lettering.',
    ],
    [
      'command without reply_to and status',
      delivery(encode(1), { contentType: cbor, headers: { conversation_id: 'c' } }),
      'commands',
      'invalid-envelope',
      'invalid enveloppe for command/result; dead lettering.',
    ],
  ] as const)('refuses %s', (_name, d, origin, reason, log) => {
    expect(openEnvelope(d, origin)).toMatchObject({ reason, log })
  })

  it('accepts a configuration without headers and an empty body as null', () => {
    expect(openEnvelope(delivery(Buffer.alloc(0), {}), 'configurations')).toMatchObject({
      kind: 'configuration',
      payload: null,
      conversationId: '',
    })
  })
})

describe('gelf', () => {
  it('writes eventail fields in order, ASCII-escaped, with the pid read at log time', () => {
    const { routingKey, body } = gelf('specsvc', 'INFO', 'short ☃', {
      full: 'full message',
      conversationId: 'conv-1',
      fields: { extra: 1, _already: 'x', conversation_id: 'clash', id: 3 },
    })
    const text = body.toString('ascii')
    const record = JSON.parse(text)
    expect(routingKey).toBe('specsvc.INFO')
    expect(Object.keys(record)).toEqual([
      'version',
      'short_message',
      'full_message',
      'level',
      '_levelname',
      'host',
      'timestamp',
      '_conversation_id',
      '_logical_service',
      '_worker_pid',
      '_extra',
      '_already',
      '_extra_conversation_id',
      '_extra_id',
    ])
    expect(record).toMatchObject({
      version: '1.1',
      short_message: 'short ☃',
      level: 6,
      _levelname: 'INFO',
      _conversation_id: 'conv-1',
      _logical_service: 'specsvc',
      _worker_pid: process.pid,
      _extra_conversation_id: 'clash',
    })
    expect(text).toContain('"short_message": "short \\u2603", "full_message"')
    expect(record.host).toMatch(/^specsvc@/)
  })

  it('refuses a level outside 0-7 instead of wrapping it', () => {
    expect(() => gelf('s', 8, 'x')).toThrowError(expect.objectContaining({ code: 'LOG_INVALID_LEVEL' }))
  })
})
