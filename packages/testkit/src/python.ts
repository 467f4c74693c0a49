import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'

/** Debian's Python, which has `python3-cbor2` and `python3-pika` (pyenv shims on PATH may not). */
export const python: string = process.env.AM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')

/** Runs a Python script with `input` on stdin and returns its stdout. */
export async function runPython(script: string, args: string[] = [], input?: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = execFile(
      python,
      ['-c', script, ...args],
      { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`python failed: ${stderr || error.message}`, { cause: error }))
        else resolveRun(stdout)
      },
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}
