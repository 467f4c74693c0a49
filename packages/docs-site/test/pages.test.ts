import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listPages } from '../src/pages.js'

function repo(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'am-pages-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true })
    writeFileSync(join(root, name), text)
  }
  return root
}

describe('listPages', () => {
  it('lists the guides, other docs pages, and the READMEs of packages, tools, examples and bench', () => {
    const root = repo({
      'docs/protocol.md': '# The protocol',
      'docs/releasing.md': '# Releasing `@am` packages\n',
      'docs/asyncapi/README.md': '# AsyncAPI documents\n',
      'packages/codec/README.md': '# @am/codec',
      'packages/docs-site/README.md': '# this site',
      'packages/testkit/src/index.ts': '',
      'apps/logger/README.md': '# logger',
      'apps/create-am-service/README.md': '# create',
      'examples/README.md': '# examples',
    })
    const pages = listPages(root)
    const by = new Map(pages.map((page) => [page.source, page]))
    expect(by.get('docs/protocol.md')).toEqual({
      source: 'docs/protocol.md',
      out: 'protocol.html',
      title: 'The protocol',
      section: 'Reference',
    })
    expect(by.get('docs/releasing.md')).toMatchObject({ out: 'releasing.html', title: 'Releasing @am packages' })
    expect(by.get('docs/asyncapi/README.md')).toMatchObject({ out: 'asyncapi/index.html', section: 'Reference' })
    expect(by.get('packages/codec/README.md')).toMatchObject({ out: 'packages/codec.html', title: '@am/codec' })
    expect(by.get('apps/logger/README.md')).toMatchObject({ out: 'apps/logger.html', title: 'am-logger' })
    expect(by.get('apps/create-am-service/README.md')?.title).toBe('create-am-service')
    expect(by.get('examples/README.md')?.out).toBe('examples.html')
    expect(by.has('packages/docs-site/README.md')).toBe(false)
    expect(by.has('packages/testkit/README.md')).toBe(false)
    expect(new Set(pages.map((page) => page.out)).size).toBe(pages.length)
  })
})
