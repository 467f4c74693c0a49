import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type CliContext, CliError } from '@am/cli-kit'
import { stringify } from 'yaml'

/** What `am-describe` is given. */
export interface DescribeArgs {
  /** The module (a built `.js`/`.mjs` file) that exports the service. */
  module: string
}

/** Options of `am-describe`. */
export interface DescribeCommandOptions {
  /** @default 'yaml' */
  format: 'yaml' | 'json'
  /** The export to describe, when the module exports several services. */
  exportName?: string
  /** `info.version`. @default the version in the package.json nearest to the module, else 0.0.0 */
  docVersion?: string
}

/** What the tool needs of a service: `describe()` (duck-typed, so that any copy of `@am/service` does). */
interface Describable {
  readonly name: string
  describe(options?: { version?: string }): Record<string, unknown>
}

/** The options a service class is built with to be described: nothing is connected. */
const DESCRIBE_ONLY = { urls: 'amqp://describe.invalid', handleSignals: false, metrics: false, tracing: false }

/** A service's methods (zod schemas have a `describe` too: it is not enough). */
const SERVICE_METHODS = ['describe', 'start', 'stop', 'publishEvent', 'sendCommand'] as const

function hasServiceMethods(value: unknown): boolean {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  return SERVICE_METHODS.every((method) => typeof (value as Record<string, unknown>)[method] === 'function')
}

function isDescribable(value: unknown): value is Describable {
  return typeof value === 'object' && hasServiceMethods(value)
}

function isServiceClass(value: unknown): value is new (options: typeof DESCRIBE_ONLY) => Describable {
  return typeof value === 'function' && hasServiceMethods(value.prototype)
}

/** The services a module exports: instances as they are, classes built with options that connect nothing. */
export function servicesOf(exports: Record<string, unknown>): Map<string, () => Describable> {
  const found = new Map<string, () => Describable>()
  for (const [name, value] of Object.entries(exports)) {
    if (isDescribable(value)) found.set(name, () => value)
    else if (isServiceClass(value)) found.set(name, () => new value(DESCRIBE_ONLY))
  }
  return found
}

/** The version of the package.json nearest to `file`, if any. */
async function packageVersion(file: string): Promise<string | undefined> {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      const { version } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: unknown }
      return typeof version === 'string' ? version : undefined
    } catch {
      if (dirname(dir) === dir) return undefined
    }
  }
}

/** Loads the module, finds its service and writes its AsyncAPI document to stdout; returns the document. */
export async function describeModule(
  ctx: CliContext,
  args: DescribeArgs,
  options: DescribeCommandOptions,
): Promise<Record<string, unknown>> {
  const file = resolve(args.module)
  let exports: Record<string, unknown>
  try {
    exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (error) {
    throw new CliError('CLI_FAILED', `cannot load ${args.module}: ${(error as Error).message}`, { cause: error })
  }
  const services = servicesOf(exports)
  const names = [...services.keys()]
  let chosen: string
  if (options.exportName !== undefined) {
    if (!services.has(options.exportName)) {
      throw new CliError(
        'CLI_USAGE',
        `${args.module} has no service export '${options.exportName}' (service exports: ${names.join(', ') || 'none'})`,
      )
    }
    chosen = options.exportName
  } else if (names.length === 1) chosen = names[0] as string
  else if (names.length === 0) {
    throw new CliError('CLI_FAILED', `${args.module} exports no service (a Service subclass or instance)`)
  } else {
    throw new CliError(
      'CLI_USAGE',
      `${args.module} exports several services (${names.join(', ')}): choose one with --export`,
    )
  }
  const make = services.get(chosen) as () => Describable
  let document: Record<string, unknown>
  try {
    const version = options.docVersion ?? (await packageVersion(file)) ?? '0.0.0'
    document = make().describe({ version })
  } catch (error) {
    throw new CliError('CLI_FAILED', `cannot describe ${chosen}: ${(error as Error).message}`, { cause: error })
  }
  ctx.stdout.write(
    options.format === 'json'
      ? `${JSON.stringify(document, null, 2)}\n`
      : stringify(document, { aliasDuplicateObjects: false }),
  )
  return document
}
