import { AmError } from '@am/errors'
import { describe, expect, it } from 'vitest'
import { CliError, reportError } from '../src/index.js'
import { createMemoryContext } from '../src/testing.js'

describe('reportError', () => {
  it('prints a known error as one redacted line', () => {
    const memory = createMemoryContext()
    const code = reportError(memory.ctx, new CliError('CLI_UNAVAILABLE', 'no broker at amqp://u:secret@h:1/v: refused'))
    expect(code).toBe(69)
    expect(memory.messages).toEqual([{ type: 'error', text: 'no broker at amqp://u:***@h:1/v: refused' }])
  })

  it('prints the redacted stack of an unknown error and exits 1', () => {
    const memory = createMemoryContext()
    const error = new TypeError('boom at amqp://u:secret@h', { cause: new AmError('X', 'amqp://u:secret2@h') })
    expect(reportError(memory.ctx, error)).toBe(1)
    const [line] = memory.messages
    expect(line?.text).toMatch(/^TypeError: boom at amqp:\/\/u:\*\*\*@h\n\s+at /)
    expect(line?.text).toContain('[cause]: AmError: amqp://u:***@h')
    expect(line?.text).not.toContain('secret')
  })

  it('exits 130 for an interruption', () => {
    const memory = createMemoryContext()
    memory.abort()
    expect(reportError(memory.ctx, memory.ctx.signal.reason)).toBe(130)
    expect(memory.messages).toEqual([{ type: 'warn', text: 'interrupted by SIGINT' }])
  })
})
