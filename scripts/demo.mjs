// Runs the demo built into examples/dist: every example service in one process on the local broker
// (AMQP_URL, default amqp://guest:guest@127.0.0.1:5672/), with a spy printing each message.
// node scripts/demo.mjs [--seconds N] [--memory]; `pnpm demo` builds first (`pnpm demo -- --memory` works too).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { join } from 'node:path'

const demo = join(new URL('..', import.meta.url).pathname, 'examples', 'dist', 'demo.js')
if (!existsSync(demo)) {
  console.error(`${demo} does not exist: build first (pnpm demo builds, or pnpm --filter @am/examples build)`)
  process.exit(1)
}

// `pnpm demo -- --memory` passes the `--` on: the demo takes no positional arguments, so drop it.
const args = process.argv.slice(2).filter((arg) => arg !== '--')
const child = spawn(process.execPath, [demo, ...args], { stdio: 'inherit' })
// Ctrl-C reaches the demo through the terminal: let it stop its services and print its summary.
// A signal sent to this process alone is passed on.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (signal !== 'SIGINT') child.kill(signal)
  })
}
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)))
