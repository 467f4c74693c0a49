import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { repoRoot } from '@am/testkit'
import { describe, expect, it } from 'vitest'
import { versionOf } from './tools.js'

const execute = promisify(execFile)

// am-describe connects to nothing, so it is not among TOOLS (whose checks are about the broker URL
// and connecting); it is installed at the root like them.
describe('am-describe', () => {
  it('runs by name from the root of a clone (pnpm exec) and prints the bare version', async () => {
    const { stdout } = await execute('pnpm', ['exec', 'am-describe', '--version'], { cwd: repoRoot })
    expect(stdout).toBe(`${versionOf('describe')}\n`)
  })
})
