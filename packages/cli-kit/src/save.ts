import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CBOR, parseContentType } from '@am/codec'
import { CliError } from './errors.js'

const UNSAFE = /[^\p{L}\p{N}_.@+=,-]/gu
const MAX_PART_BYTES = 96

/**
 * One part of a file name built from broker data (routing key, conversation id): anything but
 * letters, digits and `_.@+=,-` becomes `_`, runs of dots and a leading dot too, so no path
 * separator, `..` or hidden file can come out of it; at most 96 bytes; `na` when empty.
 */
export function safeNamePart(text: string): string {
  let part = text
    .replace(UNSAFE, '_')
    .replace(/\.{2,}/g, '_')
    .replace(/^\./, '_')
  while (Buffer.byteLength(part) > MAX_PART_BYTES) part = part.slice(0, -1)
  return part === '' ? 'na' : part
}

/** The file extension for a body of this content type: `cbor`, `json`, or `bin` when unknown. */
export function extensionFor(contentType: unknown): 'cbor' | 'json' | 'bin' {
  try {
    return parseContentType(contentType as string | undefined) === CBOR ? 'cbor' : 'json'
  } catch {
    return 'bin'
  }
}

/**
 * Writes `data` to `<dir>/<stem>.<ext>`, or `<stem>.2.<ext>`, `<stem>.3.<ext>`… when taken: the
 * file is created exclusively (`wx`), so nothing is ever overwritten, even by a concurrent run.
 * Returns the path written.
 */
export async function saveUnique(dir: string, stem: string, ext: string, data: Uint8Array | string): Promise<string> {
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? `${stem}.${ext}` : `${stem}.${n}.${ext}`)
    try {
      await writeFile(path, data, { flag: 'wx' })
      return path
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
}

/**
 * Checks the `--dir` of a tool that saves files, before it connects.
 * @throws {CliError} `CLI_USAGE` when `dir` is not an existing directory.
 */
export async function checkSaveDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined)
  if (!info?.isDirectory()) throw new CliError('CLI_USAGE', `--dir ${dir} is not a directory: create it first`)
}
