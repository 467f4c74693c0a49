import { describe, expect, it } from 'vitest'
import pkg from '../package.json' with { type: 'json' }
import { parseAmqpUrl, socketOptions } from '../src/connection-url.js'

describe('parseAmqpUrl', () => {
  it('reads host, port, credentials and vhost, and overrides the heartbeat', () => {
    const { options, safe, tls } = parseAmqpUrl('amqp://bob:s%40cret@broker:5673/my%2Fvhost?heartbeat=5', 60)
    expect({ options, safe, tls }).toEqual({
      options: {
        protocol: 'amqp',
        hostname: 'broker',
        port: 5673,
        username: 'bob',
        password: 's@cret',
        vhost: 'my/vhost',
        heartbeat: 60,
      },
      safe: 'amqp://bob:***@broker:5673/my%2Fvhost',
      tls: false,
    })
  })

  it('defaults to guest, port 5672 and vhost /', () => {
    const { options } = parseAmqpUrl('amqp://localhost', 60)
    expect([options.username, options.password, options.port, options.vhost]).toEqual(['guest', 'guest', 5672, '/'])
  })

  it('uses port 5671 and TLS for amqps', () => {
    const { options, tls } = parseAmqpUrl('amqps://h', 30)
    expect([options.protocol, options.port, tls]).toEqual(['amqps', 5671, true])
  })

  it('rejects other schemes and unparsable URLs without echoing the password', () => {
    expect(() => parseAmqpUrl('http://u:pw@h', 60)).toThrowError(
      expect.objectContaining({
        name: 'ConnectionError',
        code: 'OPTIONS_INVALID',
        message: "unsupported broker URL scheme 'http:': use amqp:// or amqps://",
      }),
    )
    expect(() => parseAmqpUrl('not a url :pw@', 60)).toThrowError(
      expect.objectContaining({
        name: 'ConnectionError',
        code: 'OPTIONS_INVALID',
        message: 'invalid broker URL: expected amqp://user:password@host:port/vhost',
      }),
    )
  })
})

describe('socketOptions', () => {
  it('names the connection and says it is AM Bus, with the bus-core version', () => {
    expect(socketOptions('svc@host:1', 5_000, undefined, false)).toEqual({
      noDelay: true,
      timeout: 5_000,
      clientProperties: { connection_name: 'svc@host:1', product: 'AM Bus', version: pkg.version },
    })
  })
})
