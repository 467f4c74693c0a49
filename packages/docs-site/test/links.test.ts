import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkLinks } from '../src/links.js'

function site(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'am-links-'))
  for (const [name, html] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), html)
  }
  return dir
}

describe('checkLinks', () => {
  it('accepts pages, folders with an index, anchors and outside addresses', () => {
    const dir = site({
      'index.html':
        '<b id="top"></b><a href="a/b.html#x">1</a><a href="a/">2</a><a href="#top">3</a><img src="i.png"><a href="https://x.org/#y">4</a>',
      'a/b.html': '<h2 id="x">x</h2><a href="../index.html#top">back</a>',
      'a/index.html': '<p id="top">',
      'i.png': '',
    })
    expect(checkLinks(dir)).toEqual({ broken: [], checked: 5, pages: 3 })
  })

  it('reports a missing page and a missing anchor, with the page that holds the link', () => {
    const dir = site({
      'index.html':
        '<span id="top"></span><a href="gone.html">1</a><a href="b.html#nowhere">2</a><script src="s.js"></script>',
      'b.html': '<h1 id="here">b</h1>',
    })
    const { broken, checked, pages } = checkLinks(dir)
    expect(pages).toBe(2)
    expect(checked).toBe(3)
    expect(broken).toEqual([
      { page: 'index.html', href: 'gone.html', reason: 'missing file' },
      { page: 'index.html', href: 'b.html#nowhere', reason: 'missing anchor' },
      { page: 'index.html', href: 's.js', reason: 'missing file' },
    ])
  })
})
