import { describe, expect, it } from 'vitest'
import { managementEndpoint, vhostOf } from '../src/index.js'

describe('managementEndpoint', () => {
  it('derives the API from the AMQP URL: its host on port 15672, its credentials and vhost', () => {
    expect(managementEndpoint('amqp://alice:s%40cret@rabbit.example:5672/my%2Fvhost')).toEqual({
      url: 'http://rabbit.example:15672/',
      vhost: 'my/vhost',
      authorization: `Basic ${Buffer.from('alice:s@cret').toString('base64')}`,
    })
  })

  it('takes a given URL without its credentials, and guest without any', () => {
    expect([
      managementEndpoint('amqp://localhost', 'https://bob:pw@mgmt.example/rabbit'),
      managementEndpoint('amqp://localhost/'),
    ]).toEqual([
      {
        url: 'https://mgmt.example/rabbit/',
        vhost: '/',
        authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}`,
      },
      {
        url: 'http://localhost:15672/',
        vhost: '/',
        authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`,
      },
    ])
  })

  it('refuses an unparsable management URL without showing its password', () => {
    expect(() => managementEndpoint('amqp://localhost', 'http://u:secret@[bad')).toThrowError(
      expect.objectContaining({ code: 'OPTIONS_INVALID', message: 'invalid management URL: http://u:***@[bad' }),
    )
  })
})

describe('vhostOf', () => {
  it('decodes the path of an AMQP URL, / when empty', () => {
    expect(['amqp://h', 'amqp://h/', 'amqp://h/%2F', 'amqp://h/v1'].map((url) => vhostOf(url))).toEqual([
      '/',
      '/',
      '/',
      'v1',
    ])
  })
})
