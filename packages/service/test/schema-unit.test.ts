import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { check, formatIssues, invalidPayloadResult, isStandardSchema } from '../src/schema.js'

describe('check()', () => {
  it('answers a synchronous schema synchronously (no promise), with its output', () => {
    const checked = check(z.object({ n: z.number().default(1) }), {})
    expect(checked).not.toBeInstanceOf(Promise)
    expect(checked).toEqual({ ok: true, value: { n: 1 } })
  })

  it('names every failing path, dotted, with path segments given as objects too', async () => {
    const schema = z.object({ lines: z.array(z.object({ sku: z.string() })), total: z.number() })
    expect(check(schema, { lines: [{ sku: 'a' }, { sku: 2 }] })).toEqual({
      ok: false,
      issues: [
        { path: 'lines.1.sku', message: expect.any(String) },
        { path: 'total', message: expect.any(String) },
      ],
    })
    const segments = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: async () => ({ issues: [{ message: 'bad', path: [{ key: 'a' }, { key: 0 }] }, { message: 'root' }] }),
      },
    }
    expect(await check(segments, 1)).toEqual({
      ok: false,
      issues: [
        { path: 'a.0', message: 'bad' },
        { path: '', message: 'root' },
      ],
    })
  })

  it('turns a schema that throws, synchronously or not, into one issue at the root', async () => {
    const throwing = (fail: () => never) => ({ '~standard': { version: 1 as const, vendor: 't', validate: fail } })
    expect(
      check(
        throwing(() => {
          throw new Error('boom')
        }),
        1,
      ),
    ).toEqual({ ok: false, issues: [{ path: '', message: 'the schema threw: boom' }] })
    const rejecting = {
      '~standard': { version: 1 as const, vendor: 't', validate: () => Promise.reject(new Error('late boom')) },
    }
    expect(await check(rejecting, 1)).toEqual({
      ok: false,
      issues: [{ path: '', message: 'the schema threw: late boom' }],
    })
  })
})

describe('issues', () => {
  it('formats them on one line and as the documented error-result payload', () => {
    const issues = [
      { path: 'userId', message: 'Required' },
      { path: '', message: 'Too many keys' },
    ]
    expect(formatIssues(issues)).toBe('userId: Required; Too many keys')
    expect(invalidPayloadResult('welcome.Send', issues)).toEqual({
      error: 'invalid_payload',
      message: 'the payload of welcome.Send does not match its schema',
      issues,
    })
  })

  it('recognises Standard Schemas only', () => {
    expect(isStandardSchema(z.string())).toBe(true)
    expect(isStandardSchema({ '~standard': { version: 2, validate: () => ({}) } })).toBe(false)
    expect(isStandardSchema({ parse: () => 1 })).toBe(false)
    expect(isStandardSchema(null)).toBe(false)
  })
})
