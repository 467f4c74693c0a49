import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TestProject } from 'vitest/node'
import { type BuildReport, buildSite } from '../src/build.js'

declare module 'vitest' {
  export interface ProvidedContext {
    site: Omit<BuildReport, 'broken'> & { broken: BuildReport['broken'] }
  }
}

/** Builds the site of this repository once for every test file, as `pnpm run docs` does. */
export default async function setup(project: TestProject) {
  const outDir = mkdtempSync(join(tmpdir(), 'am-docs-site-'))
  const repoRoot = resolve(import.meta.dirname, '../../..')
  const report = await buildSite({ repoRoot, outDir })
  project.provide('site', report)
  return () => rmSync(outDir, { recursive: true, force: true })
}
