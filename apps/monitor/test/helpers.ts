import { fileURLToPath } from 'node:url'
import { parseCli } from '@am/cli-kit/testing'
import { resolveSettings } from '../src/commands/monitor.js'
import { ARGV, createCli } from '../src/program.js'

/** The built binary, as installed users run it. */
export const binary: string = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

/** Parses an argv the way the binary does and resolves it to settings (or throws the usage error). */
export function settingsOf(argv: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof resolveSettings> {
  const { args, options } = parseCli(createCli, argv, { ...ARGV, env })
  return resolveSettings(args, options, env)
}
