import { AmError, isAmError } from '@am/errors'
import { describe, expect, it } from 'vitest'
import {
  CBOR,
  CodecError,
  ContentTypeError,
  DecodeError,
  decode,
  EncodeError,
  encode,
  JSON_CONTENT_TYPE,
  parseContentType,
} from '../src/index.js'

function thrown(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('nothing thrown')
}

describe('codec errors', () => {
  it.each([
    ['ContentTypeError', () => parseContentType('text/plain'), ContentTypeError, 'CONTENT_TYPE_UNSUPPORTED'],
    ['DecodeError', () => decode(Buffer.from('a1', 'hex'), CBOR), DecodeError, 'DECODE_TRUNCATED'],
    ['EncodeError', () => encode(Symbol('s')), EncodeError, 'ENCODE_UNSUPPORTED_VALUE'],
  ] as const)('%s is a CodecError and an AmError, recognised by brand and code', (name, run, Class, code) => {
    const error = thrown(run)
    expect(error).toBeInstanceOf(Class)
    expect(error).toBeInstanceOf(CodecError)
    expect(error).toBeInstanceOf(AmError)
    expect(isAmError(error, code)).toBe(true)
    expect([(error as CodecError).name, (error as CodecError).code]).toEqual([name, code])
  })

  it('passes the cause through', () => {
    const error = thrown(() => decode(Buffer.from([0xff, 0xfe]), JSON_CONTENT_TYPE)) as DecodeError
    expect(error.cause).toBeInstanceOf(TypeError)
  })

  it('turns running out of stack into a typed error', () => {
    let room = 0
    const nearTheEnd = (depth: number, stop: number, run: () => unknown): unknown => {
      room = depth
      return depth >= stop ? run() : nearTheEnd(depth + 1, stop, run)
    }
    try {
      nearTheEnd(0, Number.POSITIVE_INFINITY, () => undefined)
    } catch {
      // room is now about how deep the stack goes
    }
    // what `run` throws when called with as little stack left as possible
    const atTheEnd = (run: () => unknown): unknown => {
      for (let margin = 16; margin < room; margin *= 2) {
        let entered = false
        try {
          nearTheEnd(0, room - margin, () => {
            entered = true
            return run()
          })
          return undefined
        } catch (error) {
          if (entered) return error
        }
      }
      return undefined
    }
    let value: unknown = 0
    for (let i = 0; i < 1000; i++) value = [value]
    const body = encode(value)
    const encodeError = atTheEnd(() => encode(value)) as EncodeError
    const decodeError = atTheEnd(() => decode(body, CBOR)) as DecodeError
    expect([encodeError.name, encodeError.code, decodeError.name, decodeError.code]).toEqual([
      'EncodeError',
      'ENCODE_TOO_DEEP',
      'DecodeError',
      'DECODE_TOO_DEEP',
    ])
    expect(decode(encode({ still: 'working' }), CBOR)).toEqual({ still: 'working' })
  })
})
