import { relativeUrl } from './markdown.js'
import { type PageSource, SECTIONS } from './pages.js'

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** The navigation of every guide page: the sections, then the API reference. */
function nav(current: string, pages: readonly PageSource[]): string {
  const parts: string[] = []
  for (const section of SECTIONS) {
    const inSection = pages.filter((page) => page.section === section)
    if (inSection.length === 0) continue
    parts.push(`<h2>${section}</h2><ul>`)
    for (const page of inSection) {
      const here = page.out === current ? ' aria-current="page"' : ''
      parts.push(`<li><a href="${relativeUrl(current, page.out)}"${here}>${escapeHtml(page.title)}</a></li>`)
    }
    parts.push('</ul>')
  }
  parts.push(`<h2>API</h2><ul><li><a href="${relativeUrl(current, 'api/index.html')}">API reference</a></li></ul>`)
  return parts.join('\n')
}

/** A whole HTML page around a rendered markdown fragment. */
export function layout(options: {
  page: PageSource
  pages: readonly PageSource[]
  title: string
  body: string
}): string {
  const { page, pages, title, body } = options
  const root = relativeUrl(page.out, 'index.html').replace(/index\.html$/, '')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · AM Bus</title>
<link rel="stylesheet" href="${root}assets/site.css">
</head>
<body data-root="${root}">
<header class="top">
  <a class="brand" href="${root}index.html">AM Bus</a>
  <form class="search" role="search" onsubmit="return false">
    <input id="search" type="search" placeholder="Search the docs" aria-label="Search the docs" autocomplete="off">
    <ol id="search-results" hidden></ol>
  </form>
</header>
<div class="wrap">
<nav class="side" aria-label="Site">
${nav(page.out, pages)}
</nav>
<main>
${body}
</main>
</div>
<script src="${root}search-index.js"></script>
<script src="${root}assets/search.js"></script>
</body>
</html>
`
}

/** The style sheet of the guide pages. */
export const SITE_CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --accent: #1f5fbf; --code: #f3f5f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
a { color: var(--accent); }
header.top { display: flex; align-items: center; gap: 2rem; padding: .6rem 1.5rem; border-bottom: 1px solid var(--line); position: sticky; top: 0; background: #fff; z-index: 2; }
.brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; color: var(--fg); }
.search { position: relative; flex: 1; max-width: 32rem; }
.search input { width: 100%; padding: .4rem .6rem; font: inherit; border: 1px solid var(--line); border-radius: 4px; }
#search-results { position: absolute; left: 0; right: 0; margin: .2rem 0 0; padding: .3rem 0; list-style: none; background: #fff; border: 1px solid var(--line); border-radius: 4px; max-height: 70vh; overflow: auto; box-shadow: 0 4px 12px rgba(0,0,0,.1); }
#search-results li a { display: block; padding: .3rem .8rem; text-decoration: none; }
#search-results li small { display: block; color: var(--muted); }
.wrap { display: flex; align-items: flex-start; }
nav.side { width: 15rem; flex: none; padding: 1rem 1.5rem; border-right: 1px solid var(--line); position: sticky; top: 3.2rem; max-height: calc(100vh - 3.2rem); overflow: auto; font-size: .92rem; }
nav.side h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1rem 0 .3rem; }
nav.side ul { list-style: none; margin: 0; padding: 0; }
nav.side a { text-decoration: none; display: block; padding: .1rem 0; }
nav.side a[aria-current] { font-weight: 700; }
main { padding: 1rem 2.5rem 4rem; min-width: 0; max-width: 60rem; }
h1, h2, h3, h4 { line-height: 1.25; }
h1 .anchor, h2 .anchor, h3 .anchor, h4 .anchor { float: left; margin-left: -1.1rem; width: 1rem; color: var(--line); text-decoration: none; visibility: hidden; }
h1:hover .anchor, h2:hover .anchor, h3:hover .anchor, h4:hover .anchor { visibility: visible; }
code { background: var(--code); padding: .1em .3em; border-radius: 3px; font-size: .9em; }
pre { background: var(--code); padding: .8rem 1rem; overflow: auto; border-radius: 4px; }
pre code { padding: 0; background: none; }
table { border-collapse: collapse; display: block; overflow: auto; margin: 1rem 0; }
th, td { border: 1px solid var(--line); padding: .3rem .6rem; vertical-align: top; text-align: left; }
.repo-file { border-bottom: 1px dotted var(--muted); }
@media (max-width: 50rem) { .wrap { display: block; } nav.side { position: static; width: auto; border: 0; } main { padding: 1rem; } }
`

/**
 * The search box: a client-side search over the prebuilt index (`search-index.js` defines
 * `window.AM_SEARCH_INDEX`; a script rather than a fetched JSON file so that it works from
 * `file://` too). Every word of the query must occur in a page's title, headings or text;
 * title and heading hits rank first.
 */
export const SEARCH_JS = `(function () {
  var input = document.getElementById('search')
  var list = document.getElementById('search-results')
  var root = document.body.getAttribute('data-root') || ''
  var index = window.AM_SEARCH_INDEX || []
  function score(entry, words) {
    var total = 0
    for (var i = 0; i < words.length; i++) {
      var w = words[i]
      var s = 0
      if (entry.title.toLowerCase().indexOf(w) >= 0) s += 10
      if (entry.headings.toLowerCase().indexOf(w) >= 0) s += 5
      if (entry.text.toLowerCase().indexOf(w) >= 0) s += 1
      if (s === 0) return 0
      total += s
    }
    return total
  }
  function show() {
    var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean)
    list.innerHTML = ''
    if (words.length === 0) { list.hidden = true; return }
    var hits = []
    for (var i = 0; i < index.length; i++) {
      var s = score(index[i], words)
      if (s > 0) hits.push({ entry: index[i], score: s })
    }
    hits.sort(function (a, b) { return b.score - a.score })
    hits = hits.slice(0, 15)
    if (hits.length === 0) {
      var none = document.createElement('li')
      none.textContent = 'No page matches'
      none.style.padding = '.3rem .8rem'
      list.appendChild(none)
    }
    for (var j = 0; j < hits.length; j++) {
      var li = document.createElement('li')
      var a = document.createElement('a')
      a.href = root + hits[j].entry.url
      a.textContent = hits[j].entry.title
      var small = document.createElement('small')
      small.textContent = hits[j].entry.section
      a.appendChild(small)
      li.appendChild(a)
      list.appendChild(li)
    }
    list.hidden = false
  }
  input.addEventListener('input', show)
  input.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') { input.value = ''; show() }
    if (event.key === 'Enter') { var first = list.querySelector('a'); if (first) window.location.href = first.href }
  })
})()
`
