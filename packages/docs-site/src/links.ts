import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

/** A local `href` or `src` that leads nowhere: no such file, or no such anchor in it. */
export interface BrokenLink {
  /** The page holding the link, relative to the site root. */
  page: string
  /** The link as written. */
  href: string
  reason: 'missing file' | 'missing anchor'
}

/** Every file under `dir`, recursively. */
export function walk(dir: string): string[] {
  const files: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) files.push(...walk(path))
    else files.push(path)
  }
  return files
}

/** The `id`s and `name`s of the elements of an HTML file: the anchors a link may point at. */
function anchorsOf(html: string): Set<string> {
  const ids = new Set<string>()
  for (const match of html.matchAll(/\s(?:id|name)="([^"]*)"/g)) ids.add(decodeEntities(match[1] ?? ''))
  return ids
}

const decodeEntities = (text: string): string =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')

/**
 * Checks every `href` and `src` of every HTML page under `siteDir` that points inside the site:
 * the file must exist (a folder stands for its `index.html`) and, for `page.html#anchor`, the page
 * must have an element with that `id` or `name`. Links with a scheme (`https:`, `mailto:`…) are
 * not followed. Returns the broken links and the number of links checked.
 */
export function checkLinks(siteDir: string): { broken: BrokenLink[]; checked: number; pages: number } {
  const root = resolve(siteDir)
  const pages = walk(root).filter((file) => file.endsWith('.html'))
  const anchors = new Map<string, Set<string>>()
  const anchorsFor = (file: string): Set<string> => {
    let set = anchors.get(file)
    if (!set) {
      set = anchorsOf(readFileSync(file, 'utf8'))
      anchors.set(file, set)
    }
    return set
  }
  const broken: BrokenLink[] = []
  let checked = 0
  for (const page of pages) {
    const html = readFileSync(page, 'utf8')
    for (const match of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
      const href = decodeEntities(match[1] ?? '')
      if (href === '' || href === '#' || /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) continue
      checked += 1
      const [pathPart = '', hash] = href.split('#', 2)
      const cleanPath = decodeURIComponent(pathPart.split('?')[0] ?? '')
      let target = cleanPath === '' ? page : resolve(dirname(page), cleanPath)
      if (!target.startsWith(root) || !existsSync(target)) {
        broken.push({ page: relative(root, page), href, reason: 'missing file' })
        continue
      }
      if (statSync(target).isDirectory()) target = join(target, 'index.html')
      if (!existsSync(target)) {
        broken.push({ page: relative(root, page), href, reason: 'missing file' })
        continue
      }
      if (hash && target.endsWith('.html') && !anchorsFor(target).has(decodeURIComponent(hash))) {
        broken.push({ page: relative(root, page), href, reason: 'missing anchor' })
      }
    }
  }
  return { broken, checked, pages: pages.length }
}
