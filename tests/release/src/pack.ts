import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { run } from './run.js'
import { dependencyOrder, type Manifest, publicPackages, repoRoot } from './workspace.js'

/** One package packed by `pnpm pack`: the tarball and the package.json inside it. */
export interface Packed {
  name: string
  version: string
  /** Workspace directory, relative to the root. */
  dir: string
  tarball: string
  /** The package.json as published (workspace: and catalog: replaced by pnpm). */
  manifest: Manifest
  /** Paths inside the tarball, without the `package/` prefix. */
  files: string[]
  bytes: number
  integrity: string
  shasum: string
  ms: number
}

/** Packs every public package of the workspace into `dest`, in dependency order. */
export async function packAll(dest: string): Promise<Packed[]> {
  const packed: Packed[] = []
  for (const { dir, manifest } of dependencyOrder(publicPackages())) {
    const result = await run('pnpm', ['pack', '--pack-destination', dest, '--json'], {
      cwd: join(repoRoot, dir),
      timeoutMs: 120_000,
    })
    if (result.code !== 0) throw new Error(`pnpm pack failed in ${dir}:\n${result.stderr}${result.stdout}`)
    const { filename } = JSON.parse(result.stdout) as { filename: string }
    const bytes = readFileSync(filename)
    const listing = execFileSync('tar', ['-tzf', filename], { encoding: 'utf8' })
    packed.push({
      name: manifest.name,
      version: manifest.version,
      dir,
      tarball: filename,
      manifest: JSON.parse(execFileSync('tar', ['-xzOf', filename, 'package/package.json'], { encoding: 'utf8' })),
      files: listing
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^package\//, '')),
      bytes: bytes.length,
      integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
      shasum: createHash('sha1').update(bytes).digest('hex'),
      ms: result.ms,
    })
  }
  return packed
}
