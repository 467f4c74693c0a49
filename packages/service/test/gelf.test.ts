import { describe, expect, it } from 'vitest'
import { gelf } from '../src/gelf.js'
import { LEVELS } from '../src/index.js'

describe('gelf', () => {
  it("is @am/protocol's record, with the levels still exported by @am/service", () => {
    const { routingKey, body } = gelf('svc', LEVELS.WARNING, 'careful')
    expect([routingKey, JSON.parse(body.toString('ascii')).level]).toEqual(['svc.WARNING', 4])
  })

  it('refuses an invalid level with a ServiceError, as services always did', () => {
    let thrown: unknown
    try {
      gelf('svc', 8, 'x')
    } catch (error) {
      thrown = error
    }
    const { name, code, message } = thrown as { name: string; code: string; message: string }
    expect({ name, code, message }).toEqual({
      name: 'ServiceError',
      code: 'LOG_INVALID_LEVEL',
      message: 'log level must be 0 (EMERGENCY) to 7 (DEBUG), got 8',
    })
  })
})
