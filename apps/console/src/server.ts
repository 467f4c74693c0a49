import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Supervisor } from '@am/bus-core'
import { type CliContext, createManagementApi, parseFieldFilter } from '@am/cli-kit'
import { isAmError, redactUrl } from '@am/errors'
import { LEVELS, levelName } from '@am/protocol'
import { audit } from './audit.js'
import {
  DEFAULT_LIMITS,
  type DeadLetterFilter,
  type DeadLetterLimits,
  deleteDeadLetters,
  listDeadLetters,
  openDeadLetter,
  planDeadLetters,
  type ReplayMode,
  replayDeadLetters,
} from './dead-letters.js'
import type { LiveFilter, LiveHub, LiveItem } from './live.js'
import { createLock } from './lock.js'
import { listQueues } from './queues.js'

/** What the console server needs. */
export interface ConsoleServerOptions {
  ctx: CliContext
  /** The broker URL (with its credentials: never sent to a page nor logged as is). */
  url: string
  /** The connection for dead-letter operations and audit logs. */
  bus: Supervisor
  /** The live traffic; without it the live and conversation views show dead letters only. */
  live?: LiveHub
  /** Dead-letter queues the page offers. @default ['dead_letters'] */
  dlqs: string[]
  managementUrl?: string | undefined
  /** @default '127.0.0.1' */
  host?: string
  /** 0 picks a free port. @default 8080 */
  port?: number
  /** Required from every request when set; generated when the host is not loopback and none is given. */
  token?: string | undefined
  ndjson?: boolean
  timeoutMs?: number
  limits?: DeadLetterLimits
  version?: string
}

/** A running console. */
export interface ConsoleServer extends AsyncDisposable {
  /** `http://host:port/` (without the token). */
  url: string
  /** The token every request must carry, when one is required. */
  token: string | undefined
  close(): Promise<void>
}

const WEB = new URL('../web/', import.meta.url)
const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
}
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
}
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
const MAX_REQUEST_BYTES = 1024 * 1024

/** Whether a host name or address is loopback. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Starts the console's HTTP server: the page (static files, no CDN), a JSON API and a stream of
 * live traffic (server-sent events). Bound to loopback by default; on any other address every
 * request must carry the token (cookie set by `/?token=…`, `authorization: Bearer …`, or `?token=`).
 */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1'
  const token = options.token ?? (isLoopback(host) ? undefined : randomBytes(24).toString('base64url'))
  const limits = options.limits ?? DEFAULT_LIMITS
  const timeoutMs = options.timeoutMs ?? 5000
  const ndjson = options.ndjson ?? false
  const exclusive = createLock()
  const { ctx, bus, url } = options
  const password = safePassword(url)
  const scrub = (text: string): string => {
    let out = redactUrl(text)
    if (password) out = out.split(password).join('***')
    return out
  }
  const streams = new Set<ServerResponse>()

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const address = new URL(request.url ?? '/', 'http://console.invalid')
    const path = address.pathname
    if (!token && !isLoopback(hostOf(request.headers.host))) {
      // A page of another site reaching the loopback port through its own name (DNS rebinding).
      throw new HttpError(403, 'this console answers only to loopback host names')
    }
    if (token) {
      const given = address.searchParams.get('token') ?? bearer(request) ?? cookie(request, 'am_console_token')
      if (!given || !same(given, token)) throw new HttpError(401, 'a token is required: open the URL printed at start')
      if (address.searchParams.has('token') && request.method === 'GET' && STATIC[path]) {
        response.writeHead(303, {
          'set-cookie': `am_console_token=${token}; HttpOnly; SameSite=Strict; Path=/`,
          location: path,
        })
        response.end()
        return
      }
    }
    if (request.method === 'GET' && STATIC[path]) return serveStatic(response, STATIC[path])
    if (!path.startsWith('/api/')) throw new HttpError(404, `no such page: ${path}`)
    if (request.method === 'POST') {
      if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
        throw new HttpError(415, 'actions take a JSON body (content-type: application/json)')
      }
      const origin = request.headers.origin
      if (origin !== undefined && new URL(origin).host !== request.headers.host) {
        throw new HttpError(403, 'actions are accepted from the console page only')
      }
      const body = await readJson(request)
      return send(response, 200, await act(path, body, request))
    }
    if (request.method !== 'GET') throw new HttpError(405, `${request.method} is not allowed`)
    if (path === '/api/live') return stream(request, response, address.searchParams)
    return send(response, 200, await read(path, address.searchParams))
  }

  const dlqOf = (value: unknown): string => {
    const dlq = typeof value === 'string' && value !== '' ? value : options.dlqs[0]
    if (dlq === undefined) throw new HttpError(400, 'no dead-letter queue given')
    return dlq
  }

  const read = async (path: string, query: URLSearchParams): Promise<unknown> => {
    if (path === '/api/info') {
      return {
        broker: scrub(url),
        dlqs: options.dlqs,
        live: options.live !== undefined,
        version: options.version ?? '0.0.0',
        limits,
      }
    }
    if (path === '/api/dead-letters') {
      const dlq = dlqOf(query.get('dlq'))
      return exclusive(() => listDeadLetters(bus, dlq, filterOf(Object.fromEntries(query)), limits))
    }
    const one = /^\/api\/dead-letters\/([^/]+)$/.exec(path)
    if (one?.[1]) {
      const dlq = dlqOf(query.get('dlq'))
      const id = decodeURIComponent(one[1])
      const detail = await exclusive(() => openDeadLetter(bus, dlq, id, limits))
      if (!detail) throw new HttpError(404, `${dlq} no longer holds dead letter ${id}`)
      return detail
    }
    const conversation = /^\/api\/conversations\/([^/]+)$/.exec(path)
    if (conversation?.[1]) {
      const id = decodeURIComponent(conversation[1])
      const dead = []
      for (const dlq of options.dlqs) {
        try {
          const list = await exclusive(() => listDeadLetters(bus, dlq, {}, limits))
          dead.push(...list.rows.filter((row) => row.conversationId === id).map((row) => ({ dlq, ...row })))
        } catch (error) {
          if (!isMissingQueue(error)) throw error
        }
      }
      const live = options.live?.recent((item) => item.conversationId === id) ?? []
      return { conversationId: id, live, dead }
    }
    if (path === '/api/queues') return listQueues(url, options.managementUrl, timeoutMs)
    throw new HttpError(404, `no such API: ${path}`)
  }

  const act = async (path: string, body: Record<string, unknown>, request: IncomingMessage): Promise<unknown> => {
    const dlq = dlqOf(body.dlq)
    const selection = selectionOf(body)
    const mode = modeOf(body.mode)
    const who = typeof body.who === 'string' && body.who.trim() !== '' ? body.who.trim().slice(0, 100) : 'anonymous'
    const from = request.socket.remoteAddress ?? 'unknown'
    const management = () => createManagementApi(url, options.managementUrl, timeoutMs, { statisticsLagMs: 0 })
    if (path === '/api/plan') {
      return {
        dlq,
        mode,
        plan: await exclusive(() => planDeadLetters(bus, management(), dlq, selection, mode, limits)),
      }
    }
    if (path === '/api/replay') {
      const outcomes = await exclusive(() => replayDeadLetters(bus, management(), dlq, selection, mode, limits))
      const count = (action: string) => outcomes.filter((outcome) => outcome.action === action).length
      const summary = `${count('replayed')} replayed, ${count('left')} left, ${count('skipped')} skipped, ${count('failed')} failed (mode ${mode})`
      await audit(
        ctx,
        bus,
        { at: new Date().toISOString(), who, from, action: 'replay', dlq, selection, outcome: outcomes, summary },
        ndjson,
      )
      return { dlq, mode, outcomes, summary, audited: true }
    }
    if (path === '/api/delete') {
      if (!selection.ids || selection.ids.length === 0)
        throw new HttpError(400, 'delete takes the ids of the dead letters')
      const ids = selection.ids
      const outcome = await exclusive(() => deleteDeadLetters(bus, dlq, ids, limits))
      const summary = `${outcome.deleted.length} deleted${outcome.missing.length > 0 ? `, ${outcome.missing.length} no longer in the queue` : ''}`
      await audit(
        ctx,
        bus,
        { at: new Date().toISOString(), who, from, action: 'delete', dlq, selection, outcome, summary },
        ndjson,
      )
      return { dlq, ...outcome, summary, audited: true }
    }
    throw new HttpError(404, `no such action: ${path}`)
  }

  const stream = (request: IncomingMessage, response: ServerResponse, query: URLSearchParams): void => {
    const hub = options.live
    if (!hub) throw new HttpError(404, 'live traffic is off (--no-live)')
    const filter = liveFilterOf(query)
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    })
    response.write(': live\n\n')
    streams.add(response)
    let dropped = 0
    const unsubscribe = hub.subscribe({
      filter,
      send(item: LiveItem) {
        // Bounded: a page that does not keep up loses items (counted) instead of growing the server's memory.
        if (response.writableLength > 1024 * 1024) {
          dropped += 1
          return
        }
        if (dropped > 0) {
          response.write(`event: dropped\ndata: ${dropped}\n\n`)
          dropped = 0
        }
        response.write(`data: ${JSON.stringify(item)}\n\n`)
      },
    })
    const heartbeat = setInterval(() => response.write(': ping\n\n'), 15_000)
    request.on('close', () => {
      clearInterval(heartbeat)
      unsubscribe()
      streams.delete(response)
    })
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : isMissingQueue(error) ? 404 : 500
      const message = scrub(error instanceof Error ? error.message : String(error))
      if (status === 500) ctx.logger.warn(`am-console: ${request.method} ${scrub(request.url ?? '')}: ${message}`)
      if (response.headersSent) response.end()
      else send(response, status, { error: message })
    })
  })
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const shown = host.includes(':') ? `[${host}]` : host
  const close = async (): Promise<void> => {
    for (const response of streams) response.end()
    streams.clear()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
  }
  return { url: `http://${shown}:${port}/`, token, close, [Symbol.asyncDispose]: close }
}

async function serveStatic(response: ServerResponse, file: string): Promise<void> {
  const content = await readFile(new URL(file, WEB))
  response.writeHead(200, {
    'content-type': TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
    // Everything comes from the console itself: no CDN, no inline script.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  })
  response.end(content)
}

/** A queue the vhost does not have (the DLQ asked for). */
function isMissingQueue(error: unknown): boolean {
  return isAmError(error, 'TOPOLOGY_NOT_FOUND') || isAmError((error as { cause?: unknown }).cause, 'TOPOLOGY_NOT_FOUND')
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  response.end(text)
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > MAX_REQUEST_BYTES) throw new HttpError(413, 'request body too large')
    chunks.push(chunk as Buffer)
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object')
    return value as Record<string, unknown>
  } catch {
    throw new HttpError(400, 'the body must be a JSON object')
  }
}

function hostOf(header: string | undefined): string {
  if (!header) return ''
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1)
  const colon = header.lastIndexOf(':')
  return colon === -1 ? header : header.slice(0, colon)
}

function bearer(request: IncomingMessage): string | undefined {
  const value = request.headers.authorization
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function safePassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password)
    return password.length >= 3 ? password : undefined
  } catch {
    return undefined
  }
}

/** The dead-letter filter of a query or body: key, queue, reason, since, until (ISO or ms). */
export function filterOf(source: Record<string, unknown>): DeadLetterFilter {
  const filter: DeadLetterFilter = {}
  const text = (key: string): string | undefined => {
    const value = source[key]
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
  }
  const time = (key: string): number | undefined => {
    const value = source[key]
    if (typeof value === 'number') return value
    const raw = text(key)
    if (raw === undefined) return undefined
    const at = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
    if (Number.isNaN(at)) throw new HttpError(400, `${key} must be a date, got ${JSON.stringify(raw)}`)
    return at
  }
  const key = text('key')
  const queue = text('queue')
  const reason = text('reason')
  const since = time('since')
  const until = time('until')
  if (key !== undefined) filter.key = key
  if (queue !== undefined) filter.queue = queue
  if (reason !== undefined) filter.reason = reason
  if (since !== undefined) filter.since = since
  if (until !== undefined) filter.until = until
  return filter
}

function selectionOf(body: Record<string, unknown>): DeadLetterFilter {
  if (Array.isArray(body.ids)) {
    if (!body.ids.every((id) => typeof id === 'string')) throw new HttpError(400, 'ids must be strings')
    return { ids: body.ids as string[] }
  }
  if (typeof body.filter === 'object' && body.filter !== null) return filterOf(body.filter as Record<string, unknown>)
  throw new HttpError(400, 'select dead letters by ids or by filter')
}

function modeOf(value: unknown): ReplayMode {
  if (value === undefined || value === 'default') return 'default'
  if (value === 'rebroadcast' || value === 'to-queue') return value
  throw new HttpError(400, `mode is default, rebroadcast or to-queue, not ${JSON.stringify(value)}`)
}

/** A page's live filter from the query: patterns per origin (space or comma separated; absent = none), fields, level. */
export function liveFilterOf(query: URLSearchParams): LiveFilter {
  const patterns = (key: string): string[] =>
    query
      .getAll(key)
      .flatMap((value) => value.split(/[\s,]+/))
      .filter((pattern) => pattern !== '')
  const fields = query.getAll('field').map((text) => {
    const filter = parseFieldFilter(text)
    if (!filter) throw new HttpError(400, `a field filter is field=value, got ${JSON.stringify(text)}`)
    return filter
  })
  const level = query.get('level')
  const filter: LiveFilter = {
    events: patterns('events'),
    commands: patterns('commands'),
    configurations: patterns('configurations'),
    logs: patterns('logs'),
    fields,
  }
  if (level !== null && level !== '') {
    const name = levelName(/^\d+$/.test(level) ? Number(level) : level.toUpperCase())
    if (name === undefined) throw new HttpError(400, `level is 0-7 or a level name, got ${JSON.stringify(level)}`)
    filter.level = LEVELS[name]
  }
  return filter
}
