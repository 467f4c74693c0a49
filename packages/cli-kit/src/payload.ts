import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { CBOR, type ContentType, decode, JSON_CONTENT_TYPE } from '@am/codec'
import { restoreDash } from './argv.js'
import { CliError } from './errors.js'

/** A payload file, checked: the bytes to send as they are, their content type and decoded value. */
export interface Payload {
  /** The decoded value (big integers as bigint, byte strings as Uint8Array…). */
  value: unknown
  /** `application/json` for `.json` and stdin, `application/cbor` for `.cbor`. */
  contentType: ContentType
  /** The file's bytes: the message body, in the file's own encoding (eventail always re-encoded to CBOR: T1, docs/eventail-defects.md). */
  bytes: Buffer
}

const TYPES: Record<string, ContentType> = { '.json': JSON_CONTENT_TYPE, '.cbor': CBOR }

/**
 * Reads a payload file: `.json` (strict RFC 8259, big integers exact), `.cbor` (one strict CBOR
 * item), or `-` for JSON on `stdin`. The message is then sent in that encoding, with those bytes.
 * @throws {CliError} `CLI_USAGE` for another extension, an unreadable file or an invalid body.
 */
export async function readPayload(file: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<Payload> {
  const path = restoreDash(file)
  const contentType = path === '-' ? JSON_CONTENT_TYPE : TYPES[extname(path).toLowerCase()]
  const where = path === '-' ? 'stdin' : path
  if (contentType === undefined) {
    throw new CliError(
      'CLI_USAGE',
      `cannot tell the encoding of payload file ${path}: name it *.json or *.cbor, or give - to read JSON from stdin`,
    )
  }
  let bytes: Buffer
  try {
    bytes = path === '-' ? await readAll(stdin) : await readFile(path)
  } catch (error) {
    throw new CliError('CLI_USAGE', `cannot read payload ${where}: ${(error as Error).message}`, { cause: error })
  }
  if (bytes.length === 0) {
    throw new CliError(
      'CLI_USAGE',
      `payload ${where} is empty: write a ${contentType === CBOR ? 'CBOR' : 'JSON'} value`,
    )
  }
  let value: unknown
  try {
    value = decode(bytes, contentType)
  } catch (error) {
    throw new CliError(
      'CLI_USAGE',
      `payload ${where} is not valid ${contentType === CBOR ? 'CBOR' : 'JSON'}: ${(error as Error).message}`,
      { cause: error },
    )
  }
  return { value, contentType, bytes }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk))
  return Buffer.concat(chunks)
}
