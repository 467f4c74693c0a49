import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Application, LogLevel, type ProjectReflection } from 'typedoc'

/** The public library packages whose TSDoc makes the API reference (tools have no importable API). */
export const API_PACKAGES = ['bus-core', 'codec', 'errors', 'protocol', 'service', 'testing', 'tmp-store'] as const

/**
 * Generates the API reference with TypeDoc into `outDir`: one module per package, named after the
 * package, from its `src/index.ts` (what its one entry point exports), with the TSDoc of each
 * export. Returns the number of warnings TypeDoc reported.
 */
export async function buildApi(repoRoot: string, outDir: string, tmpDir: string): Promise<void> {
  const packages = API_PACKAGES.filter((name) => {
    try {
      readFileSync(join(repoRoot, 'packages', name, 'src', 'index.ts'))
      return true
    } catch {
      return false
    }
  })
  mkdirSync(tmpDir, { recursive: true })
  const tsconfig = join(tmpDir, 'tsconfig.api.json')
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(repoRoot, 'tsconfig.base.json'),
      // The file lives outside the repository: name where the `types` of the base config are.
      compilerOptions: { typeRoots: [join(repoRoot, 'node_modules', '@types')] },
      include: packages.map((name) => join(repoRoot, 'packages', name, 'src')),
    }),
  )
  const app = await Application.bootstrapWithPlugins({
    entryPoints: packages.map((name) => join(repoRoot, 'packages', name, 'src', 'index.ts')),
    entryPointStrategy: 'resolve',
    tsconfig,
    name: 'AM Bus API',
    readme: 'none',
    plugin: [],
    excludePrivate: true,
    excludeProtected: false,
    excludeInternal: true,
    disableSources: true,
    disableGit: true,
    githubPages: false,
    hideGenerator: true,
    logLevel: LogLevel.Error,
    validation: { notExported: false, invalidLink: false, rewrittenLink: false, notDocumented: false },
    navigationLinks: {},
  })
  const project = await app.convert()
  if (!project) throw new Error('TypeDoc could not convert the packages (see the errors above)')
  renameModules(project, packages)
  await app.generateDocs(project, outDir)
}

/** TypeDoc names each module after its path (`bus-core/src`); the site names it after the package. */
function renameModules(project: ProjectReflection, packages: readonly string[]): void {
  for (const module of project.children ?? []) {
    const name = packages.find((pkg) => module.name === pkg || module.name.startsWith(`${pkg}/`))
    if (name) module.name = `@am/${name}`
  }
}
