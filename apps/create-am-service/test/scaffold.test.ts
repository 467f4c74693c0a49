import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { version as serviceVersion } from '@am/service/package.json'
import { version as testingVersion } from '@am/testing/package.json'
import { afterAll, describe, expect, it } from 'vitest'
import { version } from '../package.json'
import { type ScaffoldError, scaffold } from '../src/scaffold.js'
import { className } from '../src/template.js'

const here = new URL('..', import.meta.url).pathname
const cli = join(here, 'dist', 'cli.js')
const temp = mkdtempSync(join(tmpdir(), 'create-am-service-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: temp, encoding: 'utf8' })
}

describe('scaffold', () => {
  it('writes the project, named after its directory, depending on the @am versions of this commit', () => {
    const { files, dir } = scaffold({ dir: join(temp, 'greeter') })
    expect(files.sort()).toEqual([
      '.gitignore',
      'README.md',
      'package.json',
      'src/main.ts',
      'src/messages.ts',
      'src/service.ts',
      'test/service.test.ts',
      'tsconfig.json',
    ])
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    expect(pkg.name).toBe('greeter')
    expect(pkg.dependencies).toEqual({ '@am/service': `^${serviceVersion}` })
    expect(pkg.devDependencies['@am/testing']).toBe(`^${testingVersion}`)
    expect(pkg.scripts.start).toBe('exec node --import tsx src/main.ts')
    expect(readFileSync(join(dir, 'src/service.ts'), 'utf8')).toContain("'greeter.Greet': async (payload, ctx)")
  })

  it('takes --name over the directory name', () => {
    const { dir } = scaffold({ dir: join(temp, 'x'), name: 'billing_v2' })
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name).toBe('billing_v2')
    expect(readFileSync(join(dir, 'src/service.ts'), 'utf8')).toContain('export class BillingV2 extends Service')
  })

  it('refuses a name that cannot be a routing-key word, and a directory with files in it', () => {
    expect(() => scaffold({ dir: join(temp, 'My.Service') })).toThrow(
      expect.objectContaining({ code: 'SCAFFOLD_INVALID_NAME' }) as unknown as ScaffoldError,
    )
    writeFileSync(join(temp, 'busy'), '')
    expect(() => scaffold({ dir: temp, name: 'busy' })).toThrow(/is not empty: choose a new directory$/)
  })

  it('names the class in PascalCase', () => {
    expect([className('my-service'), className('a_b-c'), className('x')]).toEqual(['MyService', 'ABC', 'X'])
  })
})

describe('create-am-service', () => {
  it('prints its bare version', () => {
    const out = run('--version')
    expect([out.status, out.stdout]).toEqual([0, `${version}\n`])
  })

  it('writes into a new directory and says what to run next', () => {
    const out = run('hello')
    expect(out.status).toBe(0)
    expect(out.stdout).toMatch(/^Wrote 8 files into hello\. Next:\n\n {2}cd hello\n {2}npm install\n/)
  })

  it('exits 64 with the usage on a missing directory or an unknown option', () => {
    expect(run().status).toBe(64)
    const out = run('x', '--nope')
    expect(out.status).toBe(64)
    expect(out.stderr).toContain("Unknown option '--nope'")
  })

  it('writes code that type-checks against this commit’s @am/service and @am/testing', () => {
    // Inside this package, so that the imports resolve to the workspace's packages.
    const dir = join(here, '.vitest', 'typecheck-project')
    rmSync(dir, { recursive: true, force: true })
    scaffold({ dir, name: 'typed' })
    const tsc = spawnSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', dir], {
      encoding: 'utf8',
    })
    expect(tsc.stdout + tsc.stderr).toBe('')
    expect(tsc.status).toBe(0)
  })
})
