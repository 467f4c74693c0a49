import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The repository root. */
export const repoRoot = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '')

/** A package.json, as far as packaging is concerned. */
export interface Manifest {
  name: string
  version: string
  private?: boolean
  license?: string
  repository?: { type?: string; url?: string; directory?: string }
  homepage?: string
  bugs?: { url?: string }
  publishConfig?: { access?: string }
  engines?: { node?: string }
  files?: string[]
  bin?: Record<string, string>
  exports?: unknown
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}

/** A package of the workspace: its directory relative to the root, and its manifest. */
export interface WorkspacePackage {
  dir: string
  manifest: Manifest
}

/** Every package under packages/ and apps/, the two places published packages live. */
export function workspacePackages(): WorkspacePackage[] {
  const found: WorkspacePackage[] = []
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(repoRoot, group)).sort()) {
      const file = join(repoRoot, group, name, 'package.json')
      if (!existsSync(file)) continue
      found.push({ dir: `${group}/${name}`, manifest: JSON.parse(readFileSync(file, 'utf8')) as Manifest })
    }
  }
  return found
}

/** The packages that are published: not `private`. */
export function publicPackages(): WorkspacePackage[] {
  return workspacePackages().filter((p) => p.manifest.private !== true)
}

/** The runtime `@am/*` (and create-am-service) dependencies of a package that are in the workspace. */
function internalDependencies(manifest: Manifest, names: Set<string>): string[] {
  const all = { ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies }
  return Object.keys(all).filter((d) => names.has(d))
}

/** `packages` ordered so that every package comes after the packages it depends on. */
export function dependencyOrder(packages: WorkspacePackage[]): WorkspacePackage[] {
  const byName = new Map(packages.map((p) => [p.manifest.name, p]))
  const names = new Set(byName.keys())
  const ordered: WorkspacePackage[] = []
  const seen = new Set<string>()
  const visit = (p: WorkspacePackage, path: string[]): void => {
    if (seen.has(p.manifest.name)) return
    if (path.includes(p.manifest.name)) throw new Error(`dependency cycle: ${[...path, p.manifest.name].join(' → ')}`)
    for (const dep of internalDependencies(p.manifest, names)) {
      const next = byName.get(dep)
      if (next) visit(next, [...path, p.manifest.name])
    }
    seen.add(p.manifest.name)
    ordered.push(p)
  }
  for (const p of packages) visit(p, [])
  return ordered
}
