import { dirname, posix } from 'node:path'
import { Marked, type Tokens } from 'marked'

/** What rendering one markdown page needs to know about the rest of the site. */
export interface RenderContext {
  /** The markdown file, relative to the repository root. */
  source: string
  /** The HTML file it becomes, relative to the site root. */
  out: string
  /** Repository path of every markdown page → its HTML path in the site. */
  pageOf: ReadonlyMap<string, string>
  /** Base URL of the repository's files on the web (`…/blob/main`), when known. */
  repoUrl?: string | undefined
}

/** A rendered page: its HTML body, its title, and its headings (for the search index). */
export interface RenderedPage {
  html: string
  title: string
  headings: { id: string; text: string; depth: number }[]
  /** The page's text without markup, for the search index. */
  text: string
}

/**
 * GitHub's heading anchors: lower case, punctuation dropped (letters, digits, `-`, `_` and spaces
 * kept), spaces turned into `-`; the n-th repeat of an anchor gets `-n`.
 */
export function slugger(): (text: string) => string {
  const seen = new Map<string, number>()
  return (text) => {
    const base = text
      .toLowerCase()
      .trim()
      .replace(/[^\p{L}\p{N}\p{M}\- _]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    return count === 0 ? base : `${base}-${count}`
  }
}

/** The text of inline tokens, without their markup. */
function plain(tokens: readonly Tokens.Generic[] | undefined): string {
  if (!tokens) return ''
  return tokens
    .map((token) => {
      if ('tokens' in token && token.tokens) return plain(token.tokens as Tokens.Generic[])
      if (token.type === 'codespan' || token.type === 'text' || token.type === 'escape') return String(token.text)
      if (token.type === 'html') return ''
      return 'text' in token ? String(token.text) : ''
    })
    .join('')
}

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** A relative URL from the page `from` to the page `to` (both relative to the site root). */
export function relativeUrl(from: string, to: string): string {
  const rel = posix.relative(posix.dirname(from), to)
  return rel === '' ? posix.basename(to) : rel
}

/**
 * Where a link of a markdown page points in the site: another page (its `.md` file, or a folder
 * whose README is a page), an anchor, an outside address (kept), or a file of the repository that
 * is not a page (`{ file }`: linked to the repository on the web when its address is known).
 */
export function resolveLink(href: string, ctx: RenderContext): { url: string } | { file: string } {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) return { url: href }
  if (href.startsWith('#')) return { url: href }
  const [pathPart = '', hash] = href.split('#', 2)
  const target = posix.normalize(posix.join(dirname(ctx.source), decodeURI(pathPart))).replace(/\/$/, '')
  const suffix = hash === undefined ? '' : `#${hash}`
  const page = ctx.pageOf.get(target) ?? ctx.pageOf.get(`${target}/README.md`)
  if (page) return { url: `${relativeUrl(ctx.out, page)}${suffix}` }
  // `docs/api/…` is the generated API reference: it exists in the site only.
  if (target.startsWith('docs/api/')) return { url: `${relativeUrl(ctx.out, target.slice('docs/'.length))}${suffix}` }
  return { file: target }
}

/** Renders one markdown page of the repository as an HTML fragment, its links made to work in the site. */
export function renderMarkdown(markdown: string, ctx: RenderContext): RenderedPage {
  const slug = slugger()
  const headings: RenderedPage['headings'] = []
  let title = ''
  const marked = new Marked({
    gfm: true,
    renderer: {
      heading({ tokens, depth }) {
        const text = plain(tokens as Tokens.Generic[])
        const id = slug(text)
        if (depth === 1 && !title) title = text
        headings.push({ id, text, depth })
        return `<h${depth} id="${escapeHtml(id)}"><a class="anchor" href="#${escapeHtml(id)}" aria-hidden="true">#</a>${this.parser.parseInline(tokens)}</h${depth}>\n`
      },
      link({ href, title: linkTitle, tokens }) {
        const inner = this.parser.parseInline(tokens)
        const target = resolveLink(href, ctx)
        const titleAttr = linkTitle ? ` title="${escapeHtml(linkTitle)}"` : ''
        if ('url' in target) return `<a href="${escapeHtml(target.url)}"${titleAttr}>${inner}</a>`
        if (ctx.repoUrl) {
          return `<a href="${escapeHtml(`${ctx.repoUrl}/${target.file}`)}"${titleAttr}>${inner}</a>`
        }
        return `<span class="repo-file" title="${escapeHtml(target.file)} in the repository">${inner}</span>`
      },
      image({ href, text }) {
        const target = resolveLink(href, ctx)
        if ('url' in target) return `<img src="${escapeHtml(target.url)}" alt="${escapeHtml(text)}">`
        return `<span class="repo-file">${escapeHtml(text)}</span>`
      },
    },
  })
  const html = marked.parse(markdown, { async: false })
  const text = html
    .replace(/<a class="anchor"[^>]*>#<\/a>/g, '')
    .replace(/<\/?(?:a|span|code|em|strong)\b[^>]*>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z#0-9]+;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return { html, title, headings, text }
}
