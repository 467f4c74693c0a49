import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { API_PACKAGES } from '../src/api.js'
import { listPages } from '../src/pages.js'

const repoRoot = resolve(import.meta.dirname, '../../..')
const site = inject('site')

describe('the site built from this repository', () => {
  it('has no local link to a missing page or anchor', () => {
    expect(site.broken).toEqual([])
    expect(site.linksChecked).toBeGreaterThan(1000)
  })

  it('has a page for every guide and README, and an API module per public library', () => {
    const pages = listPages(repoRoot)
    expect(site.guidePages).toBe(pages.length)
    for (const page of pages) expect(existsSync(join(site.outDir, page.out)), page.out).toBe(true)
    for (const name of API_PACKAGES) {
      expect(existsSync(join(site.outDir, 'api', 'modules', `_am_${name}.html`)), name).toBe(true)
    }
    expect(site.apiPages).toBeGreaterThan(API_PACKAGES.length)
  })

  it('documents the API from the TSDoc: Service and its start() are described', () => {
    const html = readFileSync(join(site.outDir, 'api', 'classes', '_am_service.Service.html'), 'utf8')
    expect(html).toContain('id="start"')
    expect(html).toMatch(/handler table/i)
  })

  it('indexes every guide page and the API pages for the search box', () => {
    const index = JSON.parse(readFileSync(join(site.outDir, 'search-index.json'), 'utf8')) as { url: string }[]
    const urls = new Set(index.map((entry) => entry.url))
    for (const page of listPages(repoRoot)) expect(urls.has(page.out), page.out).toBe(true)
    expect(urls.has('api/classes/_am_service.Service.html')).toBe(true)
    expect(readFileSync(join(site.outDir, 'search-index.js'), 'utf8')).toMatch(/^window\.AM_SEARCH_INDEX = \[/)
  })
})
