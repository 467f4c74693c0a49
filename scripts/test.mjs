// Runs every package's tests through turbo (3 at a time: the suites talk to one broker on a
// 2-core machine, and timing-sensitive ones starve when all run at once), then sums the per-package vitest JSON reports into
// one closing line, "N passed, N failed", which is what CI reads. Exits non-zero when turbo
// failed, a test failed, or no test ran at all.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const reports = []
for (const group of ['packages', 'apps', 'tests']) {
  const dir = join(root, group)
  if (!existsSync(dir)) continue
  for (const name of readdirSync(dir)) reports.push(join(dir, name, '.vitest', 'results.json'))
}
for (const single of ['bench', 'examples']) reports.push(join(root, single, '.vitest', 'results.json'))
// Only this run's results count: the reports of an earlier run are deleted first, and a report
// older than the run (written by something else meanwhile) is ignored below.
for (const report of reports) rmSync(report, { force: true })
const started = Date.now()

const extra = process.argv.slice(2)
const turbo = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', '--continue', '--concurrency=3', '--output-logs=new-only', ...extra],
  {
    cwd: root,
    stdio: 'inherit',
    env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env },
  },
)

let passed = 0
let failed = 0
let skipped = 0
for (const report of reports) {
  if (!existsSync(report) || statSync(report).mtimeMs < started) continue
  const json = JSON.parse(readFileSync(report, 'utf8'))
  passed += json.numPassedTests
  failed += json.numFailedTests + (json.numRuntimeErrors ?? 0)
  skipped += json.numPendingTests + json.numTodoTests
  for (const file of json.testResults ?? []) {
    if (file.status === 'failed' && file.assertionResults?.length === 0) failed += 1 // a suite that crashed
  }
}
const ok = turbo.status === 0 && failed === 0 && passed > 0
if (turbo.status !== 0 && failed === 0) failed = 1 // a package whose tests never reported
// Skipped tests (e.g. those that need a program a machine lacks) are said on a line of their own:
// the closing line stays exactly "N passed, N failed".
if (skipped) console.log(`${skipped} skipped`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(ok ? 0 : 1)
