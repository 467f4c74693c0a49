// A newcomer's first steps, done as one would, outside the workspace: `npm create am-service`,
// `npm install`, `npm test`, `npm start` against RabbitMQ, a command from `am-send-command`, SIGTERM.
// npm takes create-am-service and every @am package from the loopback registry (the tarballs of
// this commit), third-party ones (tsx, vitest, amqplib…) from npmjs. Each step is timed.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { installSize, mb, npmEnv } from '../src/npm.js'
import { type Background, background, run } from '../src/run.js'

const release = inject('release')
const amqpUrl = inject('amqpUrl')
const password = new URL(amqpUrl).password
const home = join(release.dir, 'newcomer')
const name = `my-service-${randomBytes(3).toString('hex')}`
const project = join(home, name)
const steps: [string, number][] = []

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return npmEnv(release.registry, release.dir, extra)
}

async function step(label: string, command: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) {
  const out = await run(command, args, { cwd, env: env(extra), timeoutMs: 300_000 })
  steps.push([label, out.ms])
  // Said at once: when a step hangs, the log shows which.
  console.info(`${label}: ${(out.ms / 1000).toFixed(1)} s (exit ${out.code}${out.signal ? `, ${out.signal}` : ''})`)
  if (out.code !== 0) throw new Error(`${label} failed (exit ${out.code}):\n${out.stdout}\n${out.stderr}`)
  return out
}

describe('npm create am-service, from the tarballs of this commit', () => {
  let service: Background | undefined
  afterAll(() => {
    service?.killGroup()
    const total = steps.reduce((sum, [, ms]) => sum + ms, 0)
    console.info(
      [...steps, ['total', total] as const].map(([label, ms]) => `${label}: ${(ms / 1000).toFixed(1)} s`).join('\n'),
    )
  })

  it('scaffolds, installs, passes its own tests, serves a command from am-send-command, stops on SIGTERM', async () => {
    mkdirSync(home, { recursive: true })
    // A cache of its own for npm exec: its npx cache is keyed by the spec, and every run's
    // create-am-service@latest has the same version with new contents.
    const created = await step('npm create am-service@latest', 'npm', ['create', 'am-service@latest', name], home, {
      npm_config_cache: join(release.dir, 'npm-exec-cache'),
    })
    expect(created.stdout).toContain(`Wrote 8 files into ${name}.`)
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'))
    expect(pkg.dependencies['@am/service']).toMatch(/^\^\d+\.\d+\.\d+$/)

    await step('npm install', 'npm', ['install'], project)
    const size = installSize(project)
    console.info(`${name}: ${size.packages} packages, ${mb(size.bytes)} in node_modules (dev tools included)`)
    expect(size.names.filter((n) => n.startsWith('@am/'))).toEqual([
      '@am/bus-core',
      '@am/codec',
      '@am/errors',
      '@am/protocol',
      '@am/service',
      '@am/testing',
    ])

    const tested = await step('npm test', 'npm', ['test'], project)
    expect(tested.stdout).toMatch(/Tests\s+2 passed \(2\)/)
    await step('npm run typecheck', 'npm', ['run', 'typecheck'], project)

    // The tool, installed as its README says (npm i -g), into a prefix of its own.
    const prefix = join(release.dir, 'global')
    await step(
      'npm i -g @am/send-command',
      'npm',
      ['install', '--global', '--prefix', prefix, '@am/send-command'],
      home,
    )

    let started = performance.now()
    service = background('npm', ['start'], { cwd: project, env: env({ AMQP_URL: amqpUrl }) })
    await service.waitForOutput(new RegExp(`^${name} ready$`, 'm'), 120_000)
    steps.push(['npm start (until ready)', performance.now() - started])

    writeFileSync(join(home, 'greet.json'), '{"name":"Ada"}')
    const sent = await step(
      'am-send-command',
      join(prefix, 'bin', 'am-send-command'),
      [amqpUrl, `${name}.Greet`, 'greet.json', '--ndjson', '--timeout', '30'],
      home,
    )
    expect(sent.stderr).not.toContain(password)
    const result = JSON.parse(sent.stdout) as { status: string; payload: unknown }
    expect([result.status, result.payload]).toEqual(['success', { greeting: 'Hello, Ada!' }])

    started = performance.now()
    service.kill('SIGTERM')
    expect(await service.exit(30_000)).toEqual({ code: 0, signal: null })
    steps.push(['SIGTERM to exit', performance.now() - started])
    expect(service.output()).not.toContain(password)
  }, 600_000) // ~1 min on a quiet machine; minutes when every package's tests share two cores
})
