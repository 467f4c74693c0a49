// The production set and one tool, installed with npm from the tarballs of this commit into empty
// directories outside the workspace, then run against the broker: what a team outside this
// repository gets.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { uniqueName } from '@am/testkit'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { installSize, mb, npmEnv } from '../src/npm.js'
import { type Background, background, run } from '../src/run.js'

const release = inject('release')
const amqpUrl = inject('amqpUrl')
const PRODUCTION = ['@am/errors', '@am/codec', '@am/protocol', '@am/bus-core', '@am/service']
const TOOL = '@am/send-command'
const version = (name: string) => release.packed.find((p) => p.name === name)?.version ?? 'missing'
const password = new URL(amqpUrl).password

const prodDir = join(release.dir, 'production')
const toolDir = join(release.dir, 'tool')
const timings: Record<string, number> = {}

async function npmInstall(dir: string, names: string[]): Promise<void> {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'release-check', private: true }, null, 2)}\n`)
  const out = await run('npm', ['install', ...names.map((n) => `${n}@${version(n)}`)], {
    cwd: dir,
    env: npmEnv(release.registry, release.dir),
  })
  if (out.code !== 0) throw new Error(`npm install ${names.join(' ')} failed:\n${out.stderr}`)
  timings[`npm install in ${dir.split('/').at(-1)}`] = out.ms
}

beforeAll(async () => {
  await npmInstall(prodDir, PRODUCTION)
  await npmInstall(toolDir, [TOOL])
})

afterAll(() => {
  console.info(
    Object.entries(timings)
      .map(([step, ms]) => `${step}: ${(ms / 1000).toFixed(1)} s`)
      .join('\n'),
  )
})

describe('the production set (errors, codec, protocol, bus-core, service)', () => {
  it('installs with npm from the tarballs, with its runtime dependencies only', () => {
    const size = installSize(prodDir)
    console.info(`production set: ${size.packages} packages, ${mb(size.bytes)}: ${size.names.join(', ')}`)
    expect(size.names.filter((n) => n.startsWith('@am/'))).toEqual([...PRODUCTION].sort())
    // Third-party: the AMQP client only (the codec has its own CBOR); no dev tool leaks in.
    expect(size.names.filter((n) => !n.startsWith('@am/'))).toEqual(['amqplib'])
  })

  it('loads both as ESM and as CommonJS, with the same exports', async () => {
    const check = `
      import { createRequire } from 'node:module'
      const require = createRequire(import.meta.url)
      const out = {}
      for (const name of ${JSON.stringify(PRODUCTION)}) {
        const esm = Object.keys(await import(name)).filter((k) => k !== 'default').sort()
        const cjs = Object.keys(require(name)).sort()
        out[name] = { esm, same: JSON.stringify(esm) === JSON.stringify(cjs) }
      }
      console.log(JSON.stringify(out))`
    writeFileSync(join(prodDir, 'load.mjs'), check)
    const out = await run(process.execPath, ['load.mjs'], { cwd: prodDir })
    expect(out.stderr).toBe('')
    const loaded = JSON.parse(out.stdout) as Record<string, { esm: string[]; same: boolean }>
    for (const name of PRODUCTION) expect(loaded[name]?.same, name).toBe(true)
    expect(loaded['@am/service']?.esm).toEqual(expect.arrayContaining(['Service', 'createPublisher']))
    expect(loaded['@am/errors']?.esm).toEqual(expect.arrayContaining(['AmError', 'isAmError']))
  })

  it('recognises errors across copies with isAmError and code, where instanceof cannot', async () => {
    // Three copies of @am/codec/@am/errors: this install's ESM and CJS builds, and the tool's install.
    const check = `
      import { createRequire } from 'node:module'
      import { isAmError, AmError } from '@am/errors'
      import { DecodeError } from '@am/codec'
      const require = createRequire(import.meta.url)
      const copies = { cjs: require('@am/codec'), other: require(${JSON.stringify(join(toolDir, 'node_modules/@am/codec'))}) }
      const out = {}
      for (const [copy, codec] of Object.entries(copies)) {
        try { codec.decode(new Uint8Array([0xff]), codec.CBOR) } catch (error) {
          out[copy] = { isAmError: isAmError(error), code: error.code, instanceofDecodeError: error instanceof DecodeError, instanceofAmError: error instanceof AmError }
        }
      }
      console.log(JSON.stringify(out))`
    writeFileSync(join(prodDir, 'copies.mjs'), check)
    const out = await run(process.execPath, ['copies.mjs'], { cwd: prodDir })
    expect(out.stderr).toBe('')
    const seen = {
      isAmError: true,
      code: 'DECODE_INVALID_CBOR',
      instanceofDecodeError: false,
      instanceofAmError: false,
    }
    expect(JSON.parse(out.stdout)).toEqual({ cjs: seen, other: seen })
  })
})

describe(`one tool (${TOOL})`, () => {
  it('installs with its @am dependencies', () => {
    const size = installSize(toolDir)
    console.info(`${TOOL}: ${size.packages} packages, ${mb(size.bytes)}: ${size.names.join(', ')}`)
    expect(size.names.filter((n) => n.startsWith('@am/'))).toEqual([
      '@am/bus-core',
      '@am/codec',
      '@am/errors',
      '@am/protocol',
      TOOL,
    ])
    expect(size.names.filter((n) => !n.startsWith('@am/'))).toEqual(['amqplib', 'cac', 'consola'])
  })

  it('prints its version, bare', async () => {
    const out = await run(join(toolDir, 'node_modules/.bin/am-send-command'), ['--version'], { cwd: toolDir })
    expect([out.code, out.stdout]).toEqual([0, `${version(TOOL)}\n`])
  })
})

describe('a tiny service from the installed packages, against the broker', () => {
  let service: Background | undefined
  afterAll(() => service?.killGroup())

  it('answers a command sent by the installed tool, and stops on SIGTERM', async () => {
    const name = uniqueName('release-check')
    writeFileSync(
      join(prodDir, 'service.mjs'),
      `import { Service } from '@am/service'
      class Echo extends Service {
        name = ${JSON.stringify(name)}
        handlers() { return { commands: { [this.name + '.Echo']: (payload, ctx) => ctx.returnSuccess({ echo: payload }) } } }
      }
      const service = new Echo({ urls: process.env.AMQP_URL })
      await service.start()
      console.log('ready')
      await service.stopped
      console.log('stopped')`,
    )
    service = background(process.execPath, ['service.mjs'], {
      cwd: prodDir,
      env: { ...process.env, AMQP_URL: amqpUrl },
    })
    let started = performance.now()
    await service.waitForOutput(/^ready$/m, 30_000)
    timings['service start (node, from the install)'] = performance.now() - started

    writeFileSync(join(toolDir, 'payload.json'), '{"n": 42, "text": "héllo"}')
    const sent = await run(
      join(toolDir, 'node_modules/.bin/am-send-command'),
      [amqpUrl, `${name}.Echo`, 'payload.json', '--ndjson', '--timeout', '30'],
      { cwd: toolDir },
    )
    timings['am-send-command round trip (process)'] = sent.ms
    expect(sent.stderr).not.toContain(password)
    expect(sent.code, sent.stderr).toBe(0)
    const result = JSON.parse(sent.stdout) as { status: string; payload: unknown }
    expect([result.status, result.payload]).toEqual(['success', { echo: { n: 42, text: 'héllo' } }])

    started = performance.now()
    service.kill('SIGTERM')
    expect(await service.exit(30_000)).toEqual({ code: 0, signal: null })
    timings['service stop on SIGTERM'] = performance.now() - started
    expect(service.output()).toMatch(/^stopped$/m)
    expect(service.output()).not.toContain(password)
  })
})
