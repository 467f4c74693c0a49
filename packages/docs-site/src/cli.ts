import { resolve } from 'node:path'
import { buildSite } from './build.js'

// am-docs [--out DIR] [--no-api]: builds the documentation site (default: site/ at the repository
// root, gitignored) and exits 1 when a local link of a page leads nowhere.
const args = process.argv.slice(2)
const repoRoot = resolve(new URL('../../..', import.meta.url).pathname)
const outAt = args.indexOf('--out')
const outDir = outAt >= 0 && args[outAt + 1] ? resolve(args[outAt + 1] as string) : resolve(repoRoot, 'site')
const report = await buildSite({ repoRoot, outDir, skipApi: args.includes('--no-api') })
console.log(
  `site built in ${outDir}: ${report.guidePages} guide pages, ${report.apiPages} API pages, ` +
    `${report.linksChecked} local links checked in ${(report.ms / 1000).toFixed(1)} s`,
)
for (const link of report.broken) console.error(`broken link (${link.reason}) in ${link.page}: ${link.href}`)
if (report.broken.length > 0) {
  console.error(`${report.broken.length} broken links`)
  process.exit(1)
}
console.log(`open ${resolve(outDir, 'index.html')}`)
