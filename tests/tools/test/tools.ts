import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '@am/testkit'

/** The tools, with arguments that get each one as far as connecting to the broker. */
export const TOOLS = [
  { name: 'console', args: ['--port', '0', '--no-live'] },
  { name: 'inspect-queue', args: ['q'] },
  { name: 'logger', args: [] },
  { name: 'monitor', args: ['--events', '#'] },
  { name: 'publish-configuration', args: ['asr.Models', 'PAYLOAD'] },
  { name: 'publish-event', args: ['Ev', 'PAYLOAD'] },
  { name: 'resurrect', args: ['dlq'] },
  { name: 'send-command', args: ['svc.Do', 'PAYLOAD'] },
  { name: 'setup-dlx', args: [] },
] as const

/** The built binary of a tool. */
export function binary(tool: string): string {
  return join(repoRoot, 'apps', tool, 'dist', 'cli.js')
}

/** A tool's version, from its package.json. */
export function versionOf(tool: string): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'apps', tool, 'package.json'), 'utf8')) as { version: string }).version
}
