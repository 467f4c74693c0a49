import { describe, expect, it } from 'vitest'
import { renderMarkdown, resolveLink, slugger } from '../src/markdown.js'

const pageOf = new Map([
  ['docs/protocol.md', 'protocol.html'],
  ['packages/service/README.md', 'packages/service.html'],
  ['README.md', 'readme.html'],
])

describe('slugger', () => {
  it('makes GitHub-style anchors, numbering repeats', () => {
    const slug = slugger()
    expect(slug('Health and metrics')).toBe('health-and-metrics')
    expect(slug("Beyond eventail's monitor.py (T4, B7)")).toBe('beyond-eventails-monitorpy-t4-b7')
    expect(slug('`x-death` records')).toBe('x-death-records')
    expect(slug('Health and metrics')).toBe('health-and-metrics-1')
  })
})

describe('resolveLink', () => {
  const ctx = { source: 'docs/architecture.md', out: 'architecture.html', pageOf }

  it('turns a markdown file or a package folder into its page, keeping the anchor', () => {
    expect(resolveLink('protocol.md#topology', ctx)).toEqual({ url: 'protocol.html#topology' })
    expect(resolveLink('../packages/service/README.md#health-and-metrics', ctx)).toEqual({
      url: 'packages/service.html#health-and-metrics',
    })
    expect(resolveLink('../packages/service', ctx)).toEqual({ url: 'packages/service.html' })
    expect(
      resolveLink('../../README.md', { source: 'packages/service/README.md', out: 'packages/service.html', pageOf }),
    ).toEqual({ url: '../readme.html' })
  })

  it('keeps outside addresses and anchors, and names repository files that are not pages', () => {
    expect(resolveLink('https://www.rabbitmq.com/', ctx)).toEqual({ url: 'https://www.rabbitmq.com/' })
    expect(resolveLink('#the-path-of-one-delivery', ctx)).toEqual({ url: '#the-path-of-one-delivery' })
    expect(resolveLink('../packages/service/src/settlement.ts', ctx)).toEqual({
      file: 'packages/service/src/settlement.ts',
    })
  })
})

describe('renderMarkdown', () => {
  it('gives headings ids, rewrites page links, and names source files without a dead link', () => {
    const page = renderMarkdown(
      '# Title\n\n## A `code` part\n\nSee [the spec](protocol.md#a) and [code](../src/x.ts).\n',
      {
        source: 'docs/guide.md',
        out: 'guide.html',
        pageOf,
      },
    )
    expect(page.title).toBe('Title')
    expect(page.headings.map((heading) => heading.id)).toEqual(['title', 'a-code-part'])
    expect(page.html).toContain('<h2 id="a-code-part">')
    expect(page.html).toContain('<a href="protocol.html#a">the spec</a>')
    expect(page.html).toContain('<span class="repo-file" title="src/x.ts in the repository">code</span>')
    expect(page.text).toContain('See the spec and code.')
  })

  it('links repository files to the web when the repository address is known', () => {
    const page = renderMarkdown('[code](../src/x.ts)', {
      source: 'docs/guide.md',
      out: 'guide.html',
      pageOf,
      repoUrl: 'https://example.org/am/blob/main',
    })
    expect(page.html).toContain('<a href="https://example.org/am/blob/main/src/x.ts">code</a>')
  })
})
