import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, posix } from 'node:path'

/** One page of the site made from a markdown file of the repository. */
export interface PageSource {
  /** The markdown file, relative to the repository root, with `/` separators. */
  source: string
  /** The HTML file written, relative to the site root. */
  out: string
  /** The title in the navigation (the page's own `# ` heading is its `<h1>`). */
  title: string
  /** The navigation section it is listed under. */
  section: string
}

/** The navigation sections, in order. */
export const SECTIONS = ['Start', 'Guides', 'Operating', 'Reference', 'Packages', 'Tools'] as const

/** The guides of `docs/`, in reading order. Each file must exist. */
const GUIDES: readonly (readonly [file: string, title: string, section: (typeof SECTIONS)[number]])[] = [
  ['index.md', 'Home', 'Start'],
  ['getting-started.md', 'Getting started', 'Start'],
  ['writing-a-service.md', 'Writing a service', 'Guides'],
  ['typed-messages.md', 'Typed messages', 'Guides'],
  ['testing.md', 'Testing with @am/testing', 'Guides'],
  ['migrating-from-eventail.md', 'Migrating from eventail', 'Guides'],
  ['tools.md', 'The debug tools', 'Operating'],
  ['dead-letters.md', 'Dead letters', 'Operating'],
  ['observability.md', 'Health, metrics, tracing', 'Operating'],
  ['reconnection-and-shutdown.md', 'Reconnection and shutdown', 'Operating'],
  ['protocol.md', 'The protocol', 'Reference'],
  ['eventail-defects.md', "eventail's defects", 'Reference'],
  ['architecture.md', 'Architecture', 'Reference'],
  ['reliability.md', 'Reliability', 'Reference'],
  ['contributing.md', 'Contributing', 'Reference'],
]

/**
 * Every page of the site: the guides, the root README, then the README of every package and tool
 * found in the repository (private ones included when they are documented: examples, bench).
 */
export function listPages(repoRoot: string): PageSource[] {
  const pages: PageSource[] = GUIDES.map(([file, title, section]) => ({
    source: `docs/${file}`,
    out: file.replace(/\.md$/, '.html'),
    title,
    section,
  }))
  // Any other markdown file under docs/ (another team's page, a folder's README) is a page too,
  // under Reference, titled by its first heading.
  const listed = new Set(pages.map((page) => page.source))
  for (const source of markdownUnder(repoRoot, 'docs')) {
    if (listed.has(source)) continue
    const heading = /^# (.+)$/m.exec(readFileSync(join(repoRoot, source), 'utf8'))?.[1]
    const out = source
      .slice('docs/'.length)
      .replace(/(^|\/)README\.md$/, '$1index.html')
      .replace(/\.md$/, '.html')
    pages.push({ source, out, title: heading?.replace(/`/g, '') ?? posix.basename(source), section: 'Reference' })
  }
  pages.push({ source: 'README.md', out: 'readme.html', title: 'The repository README', section: 'Start' })
  for (const [group, section] of [
    ['packages', 'Packages'],
    ['apps', 'Tools'],
  ] as const) {
    const dir = join(repoRoot, group)
    for (const name of readdirSync(dir).sort()) {
      if (name === 'docs-site' || !existsSync(join(dir, name, 'README.md'))) continue
      const title = group === 'packages' ? `@am/${name}` : name.startsWith('create-') ? name : `am-${name}`
      pages.push({ source: `${group}/${name}/README.md`, out: `${group}/${name}.html`, title, section })
    }
  }
  for (const [name, title] of [
    ['examples', 'Examples and the demo'],
    ['bench', 'Benchmarks'],
  ] as const) {
    if (existsSync(join(repoRoot, name, 'README.md'))) {
      pages.push({ source: `${name}/README.md`, out: `${name}.html`, title, section: 'Reference' })
    }
  }
  return pages
}

/** The markdown files under `dir` (relative to the repository root), recursively, sorted. */
function markdownUnder(repoRoot: string, dir: string): string[] {
  const found: string[] = []
  for (const name of readdirSync(join(repoRoot, dir)).sort()) {
    const path = `${dir}/${name}`
    if (statSync(join(repoRoot, path)).isDirectory()) found.push(...markdownUnder(repoRoot, path))
    else if (name.endsWith('.md')) found.push(path)
  }
  return found
}
