import { AmError } from '@am/errors'
import { describe, expect, it } from 'vitest'
import { CliError, EXIT, exitCodeOf } from '../src/index.js'

describe('CliError', () => {
  it.each([
    ['CLI_USAGE', 64],
    ['CLI_UNAVAILABLE', 69],
    ['CLI_TIMEOUT', 2],
    ['CLI_FAILED', 1],
  ] as const)('gives %s the exit code %i', (code, exitCode) => {
    const error = new CliError(code, 'x')
    expect(error.exitCode).toBe(exitCode)
    expect(error).toBeInstanceOf(AmError)
    expect(error.name).toBe('CliError')
  })
})

describe('exitCodeOf', () => {
  it.each([
    ['a CliError', new CliError('CLI_TIMEOUT', 'x'), EXIT.TIMEOUT],
    ['a connection failure', new AmError('CONNECTION_FAILED', 'x'), EXIT.UNAVAILABLE],
    ['a closed supervisor', new AmError('SUPERVISOR_CLOSED', 'x'), EXIT.UNAVAILABLE],
    ['invalid options', new AmError('OPTIONS_INVALID', 'x'), EXIT.USAGE],
    ['another AM error', new AmError('PUBLISH_NACKED', 'x'), EXIT.FAILED],
    ['a cac parse error', Object.assign(new Error('Unknown option `--x`'), { name: 'CACError' }), EXIT.USAGE],
    ['an unknown error', new TypeError('x'), undefined],
    ['a string', 'x', undefined],
  ])('maps %s', (_what, error, code) => {
    expect(exitCodeOf(error)).toBe(code)
  })
})
