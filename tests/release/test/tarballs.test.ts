// What `pnpm pack` made of each public package: what npm users would download.

import { describe, expect, inject, it } from 'vitest'
import { satisfies } from '../src/semver.js'

const { packed, packMs } = inject('release')

describe('the tarballs', () => {
  it('were made for every public package, in dependency order', () => {
    const names = packed.map((p) => p.name)
    console.info(`packed ${packed.length} packages in ${(packMs / 1000).toFixed(1)} s`)
    expect(names.indexOf('@am/errors')).toBeLessThan(names.indexOf('@am/codec'))
    expect(names.indexOf('@am/bus-core')).toBeLessThan(names.indexOf('@am/service'))
    expect(names.indexOf('@am/service')).toBeLessThan(names.indexOf('@am/testing'))
  })

  for (const p of packed) {
    describe(p.name, () => {
      it('has no workspace: or catalog: left in its package.json', () => {
        const left = JSON.stringify(p.manifest).match(/"[^"]+":"(workspace|catalog):[^"]*"/g)
        expect(left).toBeNull()
      })

      it('contains package.json, README.md, LICENSE, CHANGELOG.md and dist/, and no sources or tests', () => {
        expect(p.files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']))
        expect(p.files.some((f) => f.startsWith('dist/'))).toBe(true)
        expect(p.files.filter((f) => /^(src|test)\/|\.test\.|tsconfig|vitest\.config/.test(f))).toEqual([])
      })

      it('depends on versions of our packages that the tarballs of this commit satisfy', () => {
        const deps = { ...p.manifest.dependencies, ...p.manifest.peerDependencies }
        for (const [name, range] of Object.entries(deps)) {
          const ours = packed.find((x) => x.name === name)
          if (ours) expect(satisfies(ours.version, range), `${name}@${ours.version} in ${range}`).toBe(true)
        }
      })
    })
  }
})
