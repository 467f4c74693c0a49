// Every public package's package.json is publishable as is, and the changesets plan the versions we
// promise. Pure file checks: a package added later (apps/…) is checked as soon as it exists.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import getReleasePlan from '@changesets/get-release-plan'
import { describe, expect, it } from 'vitest'
import { publicPackages, repoRoot, workspacePackages } from '../src/workspace.js'

const REPOSITORY = 'git+https://github.com/allo-media/am-bus.git'
const rootLicense = readFileSync(join(repoRoot, 'LICENSE'), 'utf8')
const publics = publicPackages()
const changesetConfig = JSON.parse(readFileSync(join(repoRoot, '.changeset/config.json'), 'utf8'))

/** A version range that takes at least patches: `^1.2.3`, `~1.2.3`, `>=1 <2`, `1.x`, `a || b`. */
function isRange(spec: string): boolean {
  return !/^v?\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec)
}

describe('every public package', () => {
  it('is one of a known, non-empty set (packages/ and apps/ without "private")', () => {
    expect(publics.map((p) => p.manifest.name)).toEqual(expect.arrayContaining(['@am/service', 'create-am-service']))
  })

  for (const { dir, manifest } of publics) {
    describe(manifest.name, () => {
      it('names its licence, repository, homepage and bugs, and publishes publicly', () => {
        expect({
          license: manifest.license,
          repository: manifest.repository,
          homepage: manifest.homepage,
          bugs: manifest.bugs,
          publishConfig: manifest.publishConfig,
          node: manifest.engines?.node,
        }).toEqual({
          license: 'MIT',
          repository: { type: 'git', url: REPOSITORY, directory: dir },
          homepage: `https://github.com/allo-media/am-bus/tree/main/${dir}#readme`,
          bugs: { url: 'https://github.com/allo-media/am-bus/issues' },
          publishConfig: { access: 'public' },
          node: '>=20.19.0',
        })
      })

      it('ships dist, its README, the LICENSE of the repository and a CHANGELOG', () => {
        expect(manifest.files).toEqual(expect.arrayContaining(['dist', 'CHANGELOG.md']))
        expect(readFileSync(join(repoRoot, dir, 'LICENSE'), 'utf8')).toBe(rootLicense)
        expect(readFileSync(join(repoRoot, dir, 'CHANGELOG.md'), 'utf8')).toMatch(new RegExp(`^# ${manifest.name}\n`))
        expect(existsSync(join(repoRoot, dir, 'README.md'))).toBe(true)
      })

      it('depends on ranges: workspace:^ for ours, a range for third-party packages, never workspace: in peers', () => {
        const bad: string[] = []
        for (const [name, spec] of Object.entries(manifest.dependencies ?? {})) {
          if (spec.startsWith('workspace:') ? spec !== 'workspace:^' : spec !== 'catalog:' && !isRange(spec)) {
            bad.push(`dependencies.${name}: ${spec}`)
          }
        }
        for (const [name, spec] of Object.entries(manifest.peerDependencies ?? {})) {
          if (spec.startsWith('workspace:') || spec.startsWith('catalog:') || !isRange(spec)) {
            bad.push(`peerDependencies.${name}: ${spec}`)
          }
        }
        expect(bad).toEqual([])
      })
    })
  }

  it('gets catalog: versions that are ranges (the lockfile keeps them exact)', () => {
    const workspace = readFileSync(join(repoRoot, 'pnpm-workspace.yaml'), 'utf8')
    const catalog = /^catalog:\n((?: {2}.+\n)+)/m.exec(workspace)?.[1] ?? ''
    const entries = catalog
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/:\s+/))
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.filter(([, spec]) => !spec || !isRange(spec))).toEqual([])
  })
})

describe('every tool', () => {
  const tools = publics.flatMap(({ dir, manifest }) =>
    Object.entries(manifest.bin ?? {}).map(([bin, path]) => ({ bin, file: join(repoRoot, dir, path), manifest })),
  )

  it('is there (the eight debug tools and create-am-service)', () => {
    expect(tools.length).toBeGreaterThanOrEqual(9)
  })

  for (const { bin, file, manifest } of tools) {
    it(`${bin} --version prints ${manifest.name}'s version, bare`, () => {
      const out = spawnSync(process.execPath, [file, '--version'], { encoding: 'utf8' })
      expect([out.status, out.stdout]).toEqual([0, `${manifest.version}\n`])
    })
  }
})

describe('private packages', () => {
  it('are private and get no versions or changelogs from changesets', () => {
    const privates = workspacePackages().filter((p) => p.manifest.private === true)
    expect(privates.map((p) => p.manifest.name)).toEqual(expect.arrayContaining(['@am/cli-kit', '@am/testkit']))
    expect(changesetConfig.privatePackages).toEqual({ version: false, tag: false })
    for (const p of privates) expect(existsSync(join(repoRoot, p.dir, 'CHANGELOG.md'))).toBe(false)
  })
})

describe('the release plan (changesets)', () => {
  it('publishes publicly and leaves peer dependents alone while the peer stays in range', () => {
    expect(changesetConfig.access).toBe('public')
    expect(changesetConfig.___experimentalUnsafeOptions_WILL_CHANGE_IN_PATCH).toEqual({
      onlyUpdatePeerDependentsWhenOutOfRange: true,
    })
  })

  it('plans no major that no changeset asked for (e.g. @am/testing through its peers)', async () => {
    const plan = await getReleasePlan(repoRoot)
    const asked = new Set(
      plan.changesets.flatMap((c) => c.releases.filter((r) => r.type === 'major').map((r) => r.name)),
    )
    const implied = plan.releases.filter((r) => r.type === 'major' && !asked.has(r.name)).map((r) => r.name)
    expect(implied).toEqual([])
    expect(plan.releases.find((r) => r.name === '@am/testing')?.type).not.toBe('major')
  })

  it('releases create-am-service whenever @am/service or @am/testing is released (it writes their versions)', async () => {
    const plan = await getReleasePlan(repoRoot)
    const names = new Set(plan.releases.filter((r) => r.type !== 'none').map((r) => r.name))
    if (names.has('@am/service') || names.has('@am/testing')) expect(names).toContain('create-am-service')
  })

  it('keeps @am/codec at 1.0 or later: its wire-stability promise starts there', async () => {
    const plan = await getReleasePlan(repoRoot)
    const codec = plan.releases.find((r) => r.name === '@am/codec')
    const version = codec?.newVersion ?? publics.find((p) => p.manifest.name === '@am/codec')?.manifest.version
    expect(Number(version?.split('.')[0])).toBeGreaterThanOrEqual(1)
  })
})
