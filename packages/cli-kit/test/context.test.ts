import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createContext, ndjsonContext } from '../src/index.js'

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      callback()
    },
  })
  return { stream, text: () => Buffer.concat(chunks).toString() }
}

describe('createContext', () => {
  it('logs plain lines off a terminal: messages on stdout, warnings and errors on stderr', () => {
    const out = sink()
    const err = sink()
    const ctx = createContext({ stdout: out.stream, stderr: err.stream, isTTY: false })
    ctx.logger.log('data %d', 1)
    ctx.logger.info('note')
    ctx.logger.warn('careful')
    ctx.logger.error('broken')
    expect(out.text()).toBe('data 1\nnote\n')
    expect(err.text()).toBe('warn: careful\nerror: broken\n')
  })

  it('keeps stdout for NDJSON in ndjson mode', () => {
    const out = sink()
    const err = sink()
    const ctx = ndjsonContext(createContext({ stdout: out.stream, stderr: err.stream, isTTY: false }))
    ctx.logger.info('note')
    ctx.logger.error('broken')
    expect(out.text()).toBe('')
    expect(err.text()).toBe('note\nerror: broken\n')
  })
})
