import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { packAll } from '../src/pack.js'
import { startRegistry } from '../src/registry.js'
import './context.js'

/** Packs every public package once for all the files, and serves the tarballs on loopback. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'am-release-'))
  const started = performance.now()
  const packed = await packAll(join(dir, 'tarballs'))
  const packMs = performance.now() - started
  const registry = await startRegistry(packed, randomBytes(6).toString('hex'))
  project.provide('release', { dir, registry: registry.url, packed, packMs })
  return async () => {
    await registry.close()
    if (!process.env.AM_KEEP_RELEASE_DIR) rmSync(dir, { recursive: true, force: true })
  }
}
