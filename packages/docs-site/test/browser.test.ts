import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

// Debian's chromium, driven headless by puppeteer-core (which never downloads a browser).
const CHROMIUM = process.env.AM_CHROMIUM ?? '/usr/bin/chromium'
const site = inject('site')
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
}

/** Serves the built site on the first free loopback port of 8090–8099. */
async function serve(root: string): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
    let file = join(root, path)
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html')
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
    res.end(readFileSync(file))
  })
  for (let port = 8090; port <= 8099; port++) {
    const ok = await new Promise<boolean>((done) => {
      server.once('error', () => done(false))
      server.listen(port, '127.0.0.1', () => done(true))
    })
    if (ok) return { server, base: `http://127.0.0.1:${port}/` }
  }
  throw new Error('no free loopback port in 8090–8099 to serve the site on')
}

// CI installs chromium (.ci/run); a developer machine without it skips these tests, saying why.
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the site in a headless chromium', () => {
  let browser: Browser
  let server: Server
  let base: string
  let profile: string
  const errors: string[] = []

  beforeAll(async () => {
    ;({ server, base } = await serve(site.outDir))
    profile = mkdtempSync(join(tmpdir(), 'am-docs-chromium-'))
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${profile}`,
      ],
    })
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((done) => server?.close(done))
    if (profile) rmSync(profile, { recursive: true, force: true })
  })

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage()
    page.on('pageerror', (error) => errors.push(`${path}: ${String(error)}`))
    const response = await page.goto(new URL(path, base).href, { waitUntil: 'load' })
    expect(response?.status()).toBe(200)
    return page
  }

  it('renders the home page with its navigation and no script error', async () => {
    const page = await open('index.html')
    expect(await page.title()).toMatch(/AM Bus/)
    expect(await page.$eval('main h1', (h1) => h1.textContent)).toMatch(/AM Bus/)
    const nav = await page.$$eval('nav.side a', (links) => links.map((link) => link.textContent))
    expect(nav).toEqual(expect.arrayContaining(['Getting started', 'The protocol', 'API reference']))
    expect(errors).toEqual([])
    await page.close()
  })

  it('renders a guide, and its navigation leads to another guide', async () => {
    const page = await open('writing-a-service.html')
    expect(await page.$eval('nav.side a[aria-current="page"]', (link) => link.textContent)).toBe('Writing a service')
    expect(await page.$$eval('main pre code', (blocks) => blocks.length)).toBeGreaterThan(0)
    await Promise.all([page.waitForNavigation(), page.click('nav.side a[href="protocol.html"]')])
    expect(page.url()).toBe(new URL('protocol.html', base).href)
    expect(await page.$eval('main h1', (h1) => h1.textContent)).toMatch(/protocol/i)
    expect(errors).toEqual([])
    await page.close()
  })

  it('renders an API page generated from the TSDoc, with a way back to the guides', async () => {
    const page = await open('api/classes/_am_service.Service.html')
    expect(await page.$eval('h1', (h1) => h1.textContent)).toMatch(/Service/)
    expect(await page.$('#start')).not.toBeNull()
    await Promise.all([page.waitForNavigation(), page.click('#am-docs-home')])
    expect(page.url()).toBe(new URL('index.html', base).href)
    await page.close()
  })

  it('finds a page with the search box and opens it', async () => {
    const page = await open('index.html')
    await page.type('#search', 'dead letters')
    await page.waitForSelector('#search-results:not([hidden]) a')
    const hits = await page.$$eval('#search-results a', (links) => links.map((link) => link.getAttribute('href')))
    expect(hits).toContain('dead-letters.html')
    await Promise.all([page.waitForNavigation(), page.click('#search-results a[href="dead-letters.html"]')])
    expect(await page.$eval('main h1', (h1) => h1.textContent)).toMatch(/dead letter/i)
    expect(errors).toEqual([])
    await page.close()
  })
})
