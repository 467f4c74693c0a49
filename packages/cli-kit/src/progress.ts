import type { CliContext } from './context.js'

/** A progress line on stderr; a no-op unless stderr is a terminal and stdout is not. */
export interface Progress {
  update(done: number): void
  /** Clears the line. */
  end(): void
}

const INTERVAL_MS = 100

/**
 * Shows `<label> <done>/<total>` on stderr for long runs, redrawn at most ten times a second.
 * Only when stderr is a terminal and stdout is not (the output goes to a file or a pipe): on a
 * terminal the output itself shows the progress, and a pipe must not receive control characters.
 */
export function createProgress(ctx: CliContext, label: string, total: number): Progress {
  const stderr = ctx.stderr as NodeJS.WritableStream & { isTTY?: boolean }
  if (stderr.isTTY !== true || ctx.isTTY || total < 100) return { update: () => undefined, end: () => undefined }
  let last = 0
  let drawn = false
  return {
    update(done) {
      const now = Date.now()
      if (now - last < INTERVAL_MS && done < total) return
      last = now
      drawn = true
      stderr.write(`\r${label} ${done}/${total}\u001b[K`)
    },
    end() {
      if (drawn) stderr.write('\r\u001b[K')
    },
  }
}
