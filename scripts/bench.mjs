// Runs the benchmark scenarios built into bench/dist, one after the other (all of them in name
// order, or the ones named), or draws the charts of the history:
//   node scripts/bench.mjs [--quick] [--rounds N] [--prefetch N[,N…]] [--broker default|ram] [scenario...]
//   node scripts/bench.mjs report
// `pnpm bench` builds first. --quick runs tiny payloads for a few milliseconds: a smoke test, not
// a measurement. --broker ram starts a throwaway RabbitMQ node whose storage is in RAM (tmpfs, port
// 5850), runs the scenarios against it and stops it; the default is AMQP_URL, else the machine's
// node. Full runs save their figures in bench/results/latest.json and append them to the history,
// bench/results/<date>-<commit>.json; `report` charts the history in bench/README.md.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const dist = join(root, 'bench', 'dist')
const usage =
  'usage: node scripts/bench.mjs [--quick] [--rounds N] [--prefetch N[,N…]] [--broker default|ram] [scenario...] | report'
const args = process.argv.slice(2)
let stopBroker = () => {}
let broker = 'default'
const flags = []
const names = []
for (let i = 0; i < args.length; i++) {
  const arg = args[i]
  if (arg === '--broker') broker = args[++i] ?? ''
  else if (arg.startsWith('--broker=')) broker = arg.slice('--broker='.length)
  else if (arg === '--rounds' || arg === '--prefetch') flags.push(arg, args[++i] ?? '')
  else if (arg.startsWith('-')) flags.push(arg)
  else names.push(arg)
}

const VALUED = ['--rounds', '--prefetch']
const unknownFlags = flags.filter(
  (flag, i) => flag !== '--quick' && !VALUED.includes(flag) && !VALUED.includes(flags[i - 1]),
)
if (unknownFlags.length > 0) fail(`unknown option ${unknownFlags.join(' ')}; ${usage}`)
if (broker !== 'default' && broker !== 'ram') fail(`unknown broker '${broker}'; ${usage}`)
if (!existsSync(dist)) fail(`${dist} does not exist: build first (pnpm bench builds, or pnpm --filter @am/bench build)`)

if (names[0] === 'report') {
  const result = spawnSync(process.execPath, [join(dist, 'tools', 'report.js'), ...names.slice(1)], {
    stdio: 'inherit',
  })
  process.exit(result.status ?? 1)
}

const available = readdirSync(dist)
  .filter((file) => file.endsWith('.js'))
  .map((file) => file.slice(0, -'.js'.length))
  .sort()
const unknownNames = names.filter((name) => !available.includes(name))
if (unknownNames.length > 0)
  fail(`unknown scenario ${unknownNames.join(', ')}; available: ${available.join(', ')}, report`)

// The commit measured, fixed for the whole run (the history file is named after it).
const git = (...gitArgs) => spawnSync('git', gitArgs, { cwd: root, encoding: 'utf8' })
const env = {
  ...process.env,
  BENCH_BROKER: broker,
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: this script is not a turbo task (pnpm bench runs it after the build)
  BENCH_COMMIT: process.env.BENCH_COMMIT ?? (git('rev-parse', '--short=8', 'HEAD').stdout?.trim() || 'unknown'),
  BENCH_DIRTY:
    // biome-ignore lint/suspicious/noUndeclaredEnvVars: as above
    process.env.BENCH_DIRTY ??
    String(git('status', '--porcelain', '--', 'packages', 'bench/src').stdout?.trim() !== ''),
}
if (broker === 'ram') {
  const tool = join(dist, 'tools', 'broker.js')
  console.log('starting the RAM broker (a throwaway RabbitMQ node, storage in /dev/shm)…')
  const started = spawnSync(process.execPath, [tool, 'start'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  })
  if (started.status !== 0) fail('the RAM broker did not start')
  const { url, node, dir } = JSON.parse(started.stdout.trim().split('\n').pop())
  console.log(`RAM broker ${node} ready on ${url.replace(/:[^:@/]*@/, ':***@')}, data in ${dir}`)
  env.AMQP_URL = url
  env.BENCH_BROKER_NODE = node
  stopBroker = () => spawnSync(process.execPath, [tool, 'stop'], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      stopBroker()
      process.exit(130)
    })
  }
}

try {
  for (const name of names.length > 0 ? names : available) {
    console.log(`\n▶ ${name}${flags.length > 0 ? ` ${flags.join(' ')}` : ''} (broker: ${broker})`)
    const result = spawnSync(process.execPath, [join(dist, `${name}.js`), ...flags], { stdio: 'inherit', env })
    if (result.status !== 0) fail(`scenario ${name} failed (${result.signal ?? `exit code ${result.status}`})`)
  }
} finally {
  stopBroker()
}

function fail(message) {
  stopBroker()
  console.error(message)
  process.exit(1)
}
