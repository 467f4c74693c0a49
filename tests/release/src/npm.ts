import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The environment of every npm run: only the loopback registry, no user or project .npmrc, no
 * audit, fund or update notices. npm's download cache (~/.npm) is kept: third-party tarballs are
 * content-addressed, and our packages' URLs change at every run.
 */
export function npmEnv(registry: string, dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const userconfig = join(dir, '.npmrc-release-check')
  if (!existsSync(userconfig)) writeFileSync(userconfig, '')
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    // Inherited npm/pnpm settings (npm_config_*, set by `pnpm test`) would leak the workspace's
    // config, and vitest's own variables would make a project's vitest think it is a worker.
    if (!/^(npm_|pnpm_|turbo_|vitest)/i.test(key) && !['TEST', 'NODE_ENV', 'FORCE_COLOR'].includes(key))
      env[key] = value
  }
  return {
    ...env,
    // The machine's global npmrc, named: npm looks for it under the prefix, so `npm i -g --prefix`
    // would lose what it sets (here the CA file of the machine's TLS proxy: without it each
    // packument fetched from npmjs failed three times, then came from the stale cache 70 s later).
    npm_config_globalconfig: machineGlobalConfig(env),
    npm_config_registry: registry,
    npm_config_userconfig: userconfig,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'error',
    npm_config_yes: 'true',
    NO_COLOR: '1',
    // AM_RELEASE_NPM_CACHE=<empty dir>: measure with a cold npm cache, as on a newcomer's machine.
    ...(process.env.AM_RELEASE_NPM_CACHE ? { npm_config_cache: process.env.AM_RELEASE_NPM_CACHE } : {}),
    ...extra,
  }
}

let globalConfig: string | undefined

/** The path of the global npmrc of the npm on PATH, as it says (asked once). */
function machineGlobalConfig(env: NodeJS.ProcessEnv): string {
  globalConfig ??= execFileSync('npm', ['config', 'get', 'globalconfig'], { env, encoding: 'utf8' }).trim()
  return globalConfig
}

/** What an install put on disk. */
export interface InstallSize {
  /** Packages under node_modules (every copy counted), ours and third-party. */
  packages: number
  /** Their names, sorted. */
  names: string[]
  /** Bytes of node_modules (file sizes, not disk blocks). */
  bytes: number
}

/** Counts the packages and bytes under `dir/node_modules`. */
export function installSize(dir: string): InstallSize {
  const names: string[] = []
  let bytes = 0
  const walk = (path: string, depth: number, inModules: boolean): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry)
      const stat = lstatSync(full)
      if (stat.isSymbolicLink()) continue
      if (stat.isDirectory()) {
        if (inModules && entry.startsWith('@')) {
          for (const scoped of readdirSync(full)) addPackage(join(full, scoped), `${entry}/${scoped}`, depth)
        } else if (inModules && entry !== '.bin' && entry !== '.package-lock.json') {
          addPackage(full, entry, depth)
        } else if (!inModules) {
          walk(full, depth, entry === 'node_modules')
        }
      } else {
        bytes += stat.size
      }
    }
  }
  const addPackage = (path: string, name: string, depth: number): void => {
    if (existsSync(join(path, 'package.json'))) names.push(name)
    walkFiles(path, depth + 1)
  }
  const walkFiles = (path: string, depth: number): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry)
      const stat = lstatSync(full)
      if (stat.isSymbolicLink()) continue
      if (stat.isDirectory()) {
        if (entry === 'node_modules') walk(full, depth, true)
        else walkFiles(full, depth)
      } else bytes += stat.size
    }
  }
  walk(join(dir, 'node_modules'), 0, true)
  return { packages: names.length, names: names.sort(), bytes }
}

/** `1234567` → `1.23 MB`. */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`
}
