// Runs the benchmark scenarios built into bench/dist, one after the other (all of them in name
// order, or the ones named): node scripts/bench.mjs [--quick] [scenario...]
// `pnpm bench` builds first. --quick runs tiny payloads for a few milliseconds: a smoke test, not
// a measurement. Full runs save their figures in bench/results/latest.json.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const dist = join(new URL('..', import.meta.url).pathname, 'bench', 'dist')
const args = process.argv.slice(2)
const flags = args.filter((arg) => arg.startsWith('-'))
const names = args.filter((arg) => !arg.startsWith('-'))

const unknownFlags = flags.filter((flag) => flag !== '--quick')
if (unknownFlags.length > 0)
  fail(`unknown option ${unknownFlags.join(' ')}; usage: node scripts/bench.mjs [--quick] [scenario...]`)
if (!existsSync(dist)) fail(`${dist} does not exist: build first (pnpm bench builds, or pnpm --filter @am/bench build)`)

const available = readdirSync(dist)
  .filter((file) => file.endsWith('.js'))
  .map((file) => file.slice(0, -'.js'.length))
  .sort()
const unknownNames = names.filter((name) => !available.includes(name))
if (unknownNames.length > 0) fail(`unknown scenario ${unknownNames.join(', ')}; available: ${available.join(', ')}`)

for (const name of names.length > 0 ? names : available) {
  console.log(`\n▶ ${name}${flags.length > 0 ? ` ${flags.join(' ')}` : ''}`)
  const result = spawnSync(process.execPath, [join(dist, `${name}.js`), ...flags], { stdio: 'inherit' })
  if (result.status !== 0) fail(`scenario ${name} failed (${result.signal ?? `exit code ${result.status}`})`)
}

function fail(message) {
  console.error(message)
  process.exit(1)
}
