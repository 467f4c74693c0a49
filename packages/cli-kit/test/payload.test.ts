import { Readable } from 'node:stream'
import { encode } from '@am/codec'
import { writeTempFile } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import { readPayload } from '../src/index.js'

describe('readPayload', () => {
  it('keeps a .json file as JSON, with its bytes and exact big integers', async () => {
    const text = '{"id": 12345678901234567890, "name": "é"}\n'
    const payload = await readPayload(await writeTempFile('p.json', text))
    expect(payload).toEqual({
      value: { id: 12345678901234567890n, name: 'é' },
      contentType: 'application/json',
      bytes: Buffer.from(text),
    })
  })

  it('keeps a .cbor file as CBOR', async () => {
    const bytes = encode({ a: [1, 2] })
    const payload = await readPayload(await writeTempFile('p.CBOR', bytes))
    expect(payload).toEqual({ value: { a: [1, 2] }, contentType: 'application/cbor', bytes })
  })

  it('reads JSON from stdin for -', async () => {
    const payload = await readPayload('-', Readable.from([Buffer.from('[1,'), Buffer.from('2]')]))
    expect(payload.value).toEqual([1, 2])
    expect(payload.contentType).toBe('application/json')
  })

  it.each([
    [
      'another extension',
      'p.yaml',
      'a: 1',
      /cannot tell the encoding of payload file .*p\.yaml: name it \*\.json or \*\.cbor/,
    ],
    ['invalid JSON', 'p.json', '{"a":', /payload .*p\.json is not valid JSON/],
    ['trailing CBOR bytes', 'p.cbor', Buffer.from([0x01, 0x02]), /payload .*p\.cbor is not valid CBOR/],
    ['an empty file', 'p.json', '', /payload .*p\.json is empty/],
  ])('is a usage error for %s', async (_what, name, content, message) => {
    const path = await writeTempFile(name, content)
    await expect(readPayload(path)).rejects.toMatchObject({
      code: 'CLI_USAGE',
      exitCode: 64,
      message: expect.stringMatching(message),
    })
  })

  it('is a usage error for a missing file', async () => {
    await expect(readPayload('/nonexistent/p.json')).rejects.toMatchObject({
      code: 'CLI_USAGE',
      message: expect.stringMatching(/cannot read payload \/nonexistent\/p\.json: ENOENT/),
    })
  })
})
