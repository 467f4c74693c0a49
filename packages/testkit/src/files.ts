import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'

/** A fresh directory under the system's temporary folder, removed when the current test finishes. */
export async function useTempDir(prefix = 'am-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Writes `content` to a file named `name` in a fresh `useTempDir()` and returns its path. */
export async function writeTempFile(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(await useTempDir(), name)
  await writeFile(path, content)
  return path
}
