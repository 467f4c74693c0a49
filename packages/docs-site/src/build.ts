import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { buildApi } from './api.js'
import { layout, SEARCH_JS, SITE_CSS } from './layout.js'
import { checkLinks, walk } from './links.js'
import { renderMarkdown } from './markdown.js'
import { listPages } from './pages.js'

/** One entry of the search index. */
export interface SearchEntry {
  title: string
  /** Relative to the site root. */
  url: string
  section: string
  headings: string
  text: string
}

/** What `buildSite` did. */
export interface BuildReport {
  outDir: string
  /** Guide and README pages. */
  guidePages: number
  /** Pages of the API reference. */
  apiPages: number
  /** Local links checked, and those that lead nowhere. */
  linksChecked: number
  broken: ReturnType<typeof checkLinks>['broken']
  ms: number
}

export interface BuildOptions {
  repoRoot: string
  outDir: string
  /** Skip the API reference (TypeDoc): for quick previews of the guides. */
  skipApi?: boolean
}

/**
 * The repository's address on the web (`…/blob/main`), from the `repository` of the root
 * package.json, else of `@am/service`'s; `undefined` when neither names an https URL.
 */
function repoUrlOf(repoRoot: string): string | undefined {
  for (const file of ['package.json', join('packages', 'service', 'package.json')]) {
    const path = join(repoRoot, file)
    if (!existsSync(path)) continue
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { repository?: string | { url?: string } }
    const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url
    const web = url?.replace(/^git\+/, '').replace(/\.git$/, '')
    if (web && /^https:\/\//.test(web)) return `${web}/blob/main`
  }
  return undefined
}

/**
 * Builds the site into `outDir` (emptied first): the guides of `docs/` and the READMEs with a
 * shared layout and navigation, the API reference (TypeDoc) under `api/`, the search index; then
 * checks every local link of every page.
 */
export async function buildSite(options: BuildOptions): Promise<BuildReport> {
  const started = Date.now()
  const { repoRoot, outDir } = options
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(join(outDir, 'assets'), { recursive: true })
  const pages = listPages(repoRoot)
  const pageOf = new Map(pages.map((page) => [page.source, page.out]))
  const repoUrl = repoUrlOf(repoRoot)
  const index: SearchEntry[] = []
  for (const page of pages) {
    const file = join(repoRoot, page.source)
    if (!existsSync(file)) throw new Error(`the page ${page.source} is listed in the site but does not exist`)
    const rendered = renderMarkdown(readFileSync(file, 'utf8'), { source: page.source, out: page.out, pageOf, repoUrl })
    const html = layout({ page, pages, title: rendered.title || page.title, body: rendered.html })
    const outFile = join(outDir, page.out)
    mkdirSync(dirname(outFile), { recursive: true })
    writeFileSync(outFile, html)
    index.push({
      title: page.title,
      url: page.out,
      section: page.section,
      headings: rendered.headings.map((heading) => heading.text).join(' · '),
      text: rendered.text.slice(0, 20_000),
    })
  }
  writeFileSync(join(outDir, 'assets', 'site.css'), SITE_CSS)
  writeFileSync(join(outDir, 'assets', 'search.js'), SEARCH_JS)

  let apiPages = 0
  if (!options.skipApi) {
    const apiDir = join(outDir, 'api')
    await buildApi(repoRoot, apiDir, join(tmpdir(), `am-docs-${process.pid}`))
    for (const file of walk(apiDir).filter((path) => path.endsWith('.html'))) {
      apiPages += 1
      const url = relative(outDir, file).split('\\').join('/')
      let html = readFileSync(file, 'utf8')
      const back = relative(dirname(file), join(outDir, 'index.html')).split('\\').join('/')
      // A way back to the guides from every API page.
      html = html.replace(
        /<body([^>]*)>/,
        `<body$1><div style="padding:.3rem 1rem;font:14px system-ui,sans-serif;border-bottom:1px solid #ccc"><a id="am-docs-home" href="${back}">← AM Bus documentation</a></div>`,
      )
      writeFileSync(file, html)
      const title = (/<title>([^<]*)<\/title>/.exec(html)?.[1] ?? url).replace(/ \| AM Bus API$/, '')
      const text = (/<div class="col-content">([\s\S]*?)<\/div>\s*<div class="col-sidebar">/.exec(html)?.[1] ?? '')
        .replace(/<[^>]+>/g, ' ')
        .replace(/&[a-z#0-9]+;/gi, ' ')
        .replace(/\s+/g, ' ')
        .trim()
      index.push({ title, url, section: 'API', headings: title, text: text.slice(0, 5_000) })
    }
  }
  const json = JSON.stringify(index)
  writeFileSync(join(outDir, 'search-index.json'), json)
  writeFileSync(join(outDir, 'search-index.js'), `window.AM_SEARCH_INDEX = ${json};\n`)

  const links = checkLinks(outDir)
  return {
    outDir,
    guidePages: pages.length,
    apiPages,
    linksChecked: links.checked,
    broken: links.broken,
    ms: Date.now() - started,
  }
}
