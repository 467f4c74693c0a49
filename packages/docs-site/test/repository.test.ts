import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const repoRoot = resolve(import.meta.dirname, '../../..')
/** The tracked text files of the repository (lockfile and changelogs aside). */
const files = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\n')
  .filter(
    (file) => /\.(md|ts|mjs|js|sh|py|json|ya?ml)$/.test(file) && !/(^|\/)CHANGELOG\.md$|pnpm-lock\.yaml$/.test(file),
  )
  .filter((file) => file !== 'packages/docs-site/test/repository.test.ts')
const read = (file: string): string => readFileSync(join(repoRoot, file), 'utf8')

describe('the repository stands on its own', () => {
  it('refers to no document outside it', () => {
    // Built from parts so that this file does not match itself.
    const outside = new RegExp(['\\.\\./shared', 'PROTOCOL\\.md', 'STYLE\\.md', 'TOOLCHAIN\\.md', '/work/'].join('|'))
    expect(files.filter((file) => outside.test(read(file)))).toEqual([])
  })

  it('gives every eventail defect code used in code and READMEs an entry in docs/eventail-defects.md', () => {
    const page = read('docs/eventail-defects.md')
    const defined = new Set([...page.matchAll(/^### ([BT]\d{1,2})$/gm)].map((match) => match[1]))
    const used = new Map<string, string>()
    for (const file of files.filter((name) => /\.(md|ts|py)$/.test(name))) {
      for (const match of read(file).matchAll(/(?<![\w-])([BT]\d{1,2})(?![\w-])/g)) used.set(match[1] as string, file)
    }
    expect(used.size).toBeGreaterThan(20)
    expect([...used].filter(([code]) => !defined.has(code))).toEqual([])
    // B1–B25 and T1–T8, each once
    expect([...defined].sort()).toEqual(
      [
        ...Array.from({ length: 25 }, (_, i) => `B${i + 1}`),
        ...Array.from({ length: 8 }, (_, i) => `T${i + 1}`),
      ].sort(),
    )
    expect(page.match(/^### /gm)).toHaveLength(33)
  })
})
