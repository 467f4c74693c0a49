import { describe, expect, it } from 'vitest'
import { AmError, isAmError, redactUrl } from '../src/index.js'

class SampleError extends AmError<'SAMPLE_BROKEN'> {}

describe('AmError', () => {
  it('carries code, subclass name and cause', () => {
    const cause = new Error('root')
    const error = new SampleError('SAMPLE_BROKEN', 'it broke', { cause })
    expect([error.code, error.name, error.message, error.cause]).toEqual([
      'SAMPLE_BROKEN',
      'SampleError',
      'it broke',
      cause,
    ])
    expect(error).toBeInstanceOf(Error)
  })

  it('is recognised by brand and code', () => {
    const error = new SampleError('SAMPLE_BROKEN', 'x')
    expect(isAmError(error)).toBe(true)
    expect(isAmError(error, 'SAMPLE_BROKEN')).toBe(true)
    expect(isAmError(error, 'OTHER')).toBe(false)
  })

  it('rejects look-alikes without the brand', () => {
    expect(isAmError({ code: 'X', name: 'AmError' })).toBe(false)
    expect(isAmError(new Error('plain'))).toBe(false)
    expect(isAmError(null)).toBe(false)
  })

  it('recognises an error from another copy of the package by its global brand', () => {
    const foreign = Object.assign(new Error('x'), { code: 'C', [Symbol.for('@am/error')]: true })
    expect(isAmError(foreign)).toBe(true)
  })
})

describe('redactUrl', () => {
  it.each([
    ['amqp://guest:guest@127.0.0.1:5672/am-test', 'amqp://guest:***@127.0.0.1:5672/am-test'],
    ['amqps://user:p%40ss@host/vh', 'amqps://user:***@host/vh'],
    ['amqp://onlyuser@host', 'amqp://onlyuser@host'],
    ['amqp://:secret@host', 'amqp://:***@host'],
    ['connect to amqp://a:b@h1 failed, then amqp://c:d@h2', 'connect to amqp://a:***@h1 failed, then amqp://c:***@h2'],
    ['http://admin:s3cret@127.0.0.1:15672/api', 'http://admin:***@127.0.0.1:15672/api'],
    ['amqp://127.0.0.1:5672', 'amqp://127.0.0.1:5672'],
    ['no url here', 'no url here'],
  ])('redacts %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected)
  })
})
