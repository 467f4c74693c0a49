import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { useTempDir } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import { checkSaveDirectory, extensionFor, safeNamePart, saveUnique } from '../src/index.js'

describe('safeNamePart', () => {
  it.each([
    ['voxo.TranscribeAudio', 'voxo.TranscribeAudio'],
    ['../../etc/passwd', '____etc_passwd'],
    ['a/b\\c', 'a_b_c'],
    ['..', '_'],
    ['.hidden', '_hidden'],
    ['a..b', 'a_b'],
    ['conv 1:2*?', 'conv_1_2__'],
    ['Événement', 'Événement'],
    ['', 'na'],
    ['nul\u0000byte', 'nul_byte'],
  ])('%j → %j', (text, expected) => {
    expect(safeNamePart(text)).toBe(expected)
  })

  it('cuts long parts to 96 bytes', () => {
    expect(Buffer.byteLength(safeNamePart('é'.repeat(200)))).toBeLessThanOrEqual(96)
  })
})

describe('extensionFor', () => {
  it.each([
    ['application/cbor', 'cbor'],
    ['application/json', 'json'],
    ['Application/JSON; charset=utf-8', 'json'],
    ['text/plain', 'bin'],
    [undefined, 'bin'],
  ])('%s → %s', (type, ext) => {
    expect(extensionFor(type)).toBe(ext)
  })
})

describe('saveUnique', () => {
  it('never overwrites: .2, .3 and so on', async () => {
    const dir = await useTempDir('cli-kit-save-')
    const paths = []
    for (const n of [1, 2, 3, 4]) paths.push(await saveUnique(dir, 'Evt.conv', 'cbor', Buffer.from([n])))
    expect(paths.map((path) => path.slice(dir.length + 1))).toEqual([
      'Evt.conv.cbor',
      'Evt.conv.2.cbor',
      'Evt.conv.3.cbor',
      'Evt.conv.4.cbor',
    ])
    expect((await readdir(dir)).sort()).toHaveLength(4)
    expect([...(await readFile(join(dir, 'Evt.conv.3.cbor')))]).toEqual([3])
  })
})

describe('checkSaveDirectory', () => {
  it('accepts an existing directory', async () => {
    const dir = await useTempDir('cli-kit-save-')
    await expect(checkSaveDirectory(dir)).resolves.toBeUndefined()
  })

  it('is a usage error for a file or a missing path', async () => {
    const dir = await useTempDir('cli-kit-save-')
    const file = join(dir, 'f')
    await writeFile(file, '')
    for (const path of [file, join(dir, 'missing')]) {
      await expect(checkSaveDirectory(path)).rejects.toMatchObject({
        code: 'CLI_USAGE',
        exitCode: 64,
        message: `--dir ${path} is not a directory: create it first`,
      })
    }
  })
})
