import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { NAME_PATTERN, projectFiles } from './template.js'

/** Why a project could not be written; `code` is stable. */
export class ScaffoldError extends Error {
  override readonly name = 'ScaffoldError'
  constructor(
    readonly code: 'SCAFFOLD_INVALID_NAME' | 'SCAFFOLD_NOT_EMPTY',
    message: string,
  ) {
    super(message)
  }
}

/** Where and what to write. */
export interface ScaffoldOptions {
  /** The project directory; created if missing, refused if not empty. */
  dir: string
  /** The service name; by default the directory's name. */
  name?: string
}

/** Writes a new project into `dir`; resolves with the absolute directory and the files written. */
export function scaffold(options: ScaffoldOptions): { dir: string; files: string[] } {
  const dir = resolve(options.dir)
  const name = options.name ?? basename(dir)
  if (!NAME_PATTERN.test(name)) {
    throw new ScaffoldError(
      'SCAFFOLD_INVALID_NAME',
      `'${name}' cannot name a service: use lower-case letters, digits, '-' and '_', starting with a letter (--name <name>)`,
    )
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new ScaffoldError('SCAFFOLD_NOT_EMPTY', `${dir} is not empty: choose a new directory`)
  }
  const files = projectFiles({ name })
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return { dir, files: Object.keys(files) }
}
