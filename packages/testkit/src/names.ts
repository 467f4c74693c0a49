import { randomBytes } from 'node:crypto'

/** A name unique to this test run, safe for queues and exchanges: `<prefix>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`
}
