import { Writable } from 'node:stream'
import { formatWithOptions } from 'node:util'
import { createConsola, LogLevels } from 'consola'
import type { CliContext } from './context.js'

/** A context that records everything, for tests. */
export interface MemoryContext {
  ctx: CliContext
  /** Everything written to `ctx.stdout` so far. */
  stdout(): string
  /** `stdout()` as NDJSON: each line parsed. */
  json(): unknown[]
  /** Everything written to `ctx.stderr` so far. */
  stderr(): string
  /** The logger's messages in order, as `{ type, text }` (type: `log`, `info`, `success`, `warn`, `error`…). */
  messages: Array<{ type: string; text: string }>
  /** Aborts `ctx.signal`, as a Ctrl-C would. */
  abort(): void
}

/**
 * A context for calling commands directly in tests: in-memory stdout/stderr and a consola logger
 * at level `info` whose messages are recorded (consola under vitest would drop them: P11).
 */
export function createMemoryContext(overrides: Partial<CliContext> = {}): MemoryContext {
  const out: Buffer[] = []
  const err: Buffer[] = []
  const stdout = recorder(out)
  const stderr = recorder(err)
  const messages: MemoryContext['messages'] = []
  const logger = createConsola({
    level: LogLevels.info,
    reporters: [
      {
        log: (logObj) =>
          messages.push({ type: logObj.type, text: formatWithOptions({ colors: false }, ...logObj.args) }),
      },
    ],
  })
  const controller = new AbortController()
  const ctx: CliContext = {
    logger,
    stdout,
    stderr,
    env: {},
    signal: controller.signal,
    isTTY: false,
    ...overrides,
  }
  return {
    ctx,
    stdout: () => Buffer.concat(out).toString('utf8'),
    json: () => parseLines(Buffer.concat(out).toString('utf8')),
    stderr: () => Buffer.concat(err).toString('utf8'),
    messages,
    abort: () => controller.abort(new DOMException('interrupted by SIGINT', 'AbortError')),
  }
}

/** @internal */
export function parseLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown)
}

function recorder(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      callback()
    },
  })
}
