import { randomUUID } from 'node:crypto'
import { decode, encode } from '@am/codec'
import { redactUrl } from '@am/errors'
import { Redis, type RedisOptions, ReplyError } from 'ioredis'
import { TmpStoreError } from './errors.js'

/** What a library logs through: the subset of `Console` it uses. */
export type Logger = Pick<Console, 'debug' | 'info' | 'warn' | 'error'>

/** Options of {@link createTmpStore}. */
export interface TmpStoreOptions {
  /**
   * Prefix of every key, so that several stores share one Redis database without collisions
   * (`namespace + key`, nothing in between, as eventail does).
   */
  namespace: string
  /**
   * `host:port` of a single Redis server. Ignored when `sentinels` is given.
   * @default '127.0.0.1:6379'
   */
  redis?: string
  /**
   * `host:port` of the Redis Sentinels that watch the master named `masterName`. As eventail's
   * `sentinel_backend`, a list of exactly one address is the Redis server itself (single mode).
   */
  sentinels?: readonly string[]
  /** Name of the master monitored by the sentinels (eventail's `redis_service_name`); required with two or more sentinels. */
  masterName?: string
  /**
   * Redis database number.
   * @default 0
   */
  db?: number
  /** Password of the Redis server(s) (not of the sentinels). Never appears in errors or logs. */
  password?: string
  /**
   * Time to live of every value, in seconds, unless an operation gives its own.
   * @default 270
   */
  ttl?: number
  /**
   * Longest wait, in milliseconds, for the first connection (and for each later connection attempt).
   * @default 2000
   */
  connectTimeout?: number
  /**
   * Longest wait, in milliseconds, for any command's answer, including while disconnected; past it
   * the operation fails with `STORE_UNAVAILABLE`.
   * @default 2000
   */
  commandTimeout?: number
  /**
   * Where to report connection losses (the first failure of a streak) and recoveries.
   * @default null
   */
  logger?: Logger | null
}

/** Options of {@link TmpStore.peekOrCreate}. */
export interface PeekOrCreateOptions {
  /**
   * Longest time, in seconds, the creation lock is held: the factory must produce the value
   * within it (eventail's `max_op_time`). Past it the lock expires and another instance may create.
   */
  maxOpTime: number
  /** TTL of the created value in seconds. @default the store's `ttl` */
  ttl?: number
  /**
   * Longest wait, in milliseconds, for the lock held by another instance.
   * @default 2 × maxOpTime
   */
  lockWait?: number
}

interface StoreCommands {
  mpopBuffer(numKeys: number, ...keys: string[]): Promise<Buffer[] | null>
  unlock(key: string, token: string): Promise<number>
}

type Client = Redis & StoreCommands

// All or nothing: delete and return the values only when every key is set.
const MPOP = `local values = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS do
  if not values[i] then return nil end
end
redis.call('DEL', unpack(KEYS))
return values`

// Release a lock only if it is still ours (it may have expired and been taken by another).
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

const LOCK_POLL_MS = 100

function parseAddress(address: string, what: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(address)
  const port = match ? Number(match[2]) : Number.NaN
  if (!match?.[1] || !(port > 0 && port < 65536)) {
    throw new TmpStoreError('STORE_INVALID_ARGUMENT', `${what} '${redactUrl(address)}' is not host:port`)
  }
  return { host: match[1], port }
}

function checkTtl(ttl: number, what: string): number {
  if (!Number.isInteger(ttl) || ttl <= 0) {
    throw new TmpStoreError('STORE_INVALID_ARGUMENT', `${what} must be a positive whole number of seconds, not ${ttl}`)
  }
  return ttl
}

/**
 * Short-lived data shared by the instances of one logical service, on Redis, readable and
 * writable by eventail's `STDataStore` on the same namespace. Values are CBOR; every value expires
 * after its TTL; reads that take a value (`pop`, `mpop`) are atomic, so exactly one instance gets it.
 * Create it with {@link createTmpStore}.
 */
export class TmpStore {
  readonly #redis: Client
  readonly #namespace: string
  readonly #ttl: number
  readonly #where: string
  readonly #commandTimeout: number
  readonly #healthKey: string
  readonly #logger: Logger | null
  #closing: Promise<void> | undefined
  #failing = false

  /** @internal use {@link createTmpStore} */
  constructor(
    redis: Redis,
    options: { namespace: string; ttl: number; where: string; commandTimeout: number; logger: Logger | null },
  ) {
    this.#redis = redis as Client
    this.#namespace = options.namespace
    this.#ttl = options.ttl
    this.#where = options.where
    this.#commandTimeout = options.commandTimeout
    this.#logger = options.logger
    this.#healthKey = `health ${randomUUID()}`
    redis.defineCommand('mpop', { lua: MPOP })
    redis.defineCommand('unlock', { numberOfKeys: 1, lua: UNLOCK })
    redis.on('ready', () => {
      if (this.#failing) this.#logger?.info(`tmp-store: ${this.#where} is back`)
      this.#failing = false
    })
    redis.on('error', (error: Error) => this.#noteFailure(error))
    redis.on('close', () => this.#noteFailure(new Error('connection closed')))
  }

  /** The key prefix. */
  get namespace(): string {
    return this.#namespace
  }

  /**
   * Whether the store is usable right now, without a round trip: connected, and no command failed
   * for want of Redis since the last (re)connection. Cheap enough for a `health()` override.
   */
  get isReady(): boolean {
    return this.#redis.status === 'ready' && !this.#failing && this.#closing === undefined
  }

  /**
   * Probes the store with a round trip (writes then takes back a key of its own, as eventail's
   * `is_down`): resolves `true` when Redis is unreachable, too slow (`commandTimeout`) or
   * inconsistent, `false` when it works. Never rejects.
   */
  async isDown(): Promise<boolean> {
    try {
      await this.set(this.#healthKey, 'health', 60)
      return (await this.pop(this.#healthKey)) !== 'health'
    } catch {
      return true
    }
  }

  /** Stores `value` (any CBOR-encodable value) under `key` for `ttl` seconds (SETEX). */
  async set(key: string, value: unknown, ttl?: number): Promise<void> {
    const seconds = ttl === undefined ? this.#ttl : checkTtl(ttl, 'ttl')
    const body = this.#encode(value)
    await this.#run('set', () => this.#redis.setex(this.#key(key), seconds, body))
  }

  /** Stores every `key: value` pair of `entries` at once, with one TTL (MSET and EXPIRE in one transaction). */
  async mset(entries: Readonly<Record<string, unknown>>, ttl?: number): Promise<void> {
    const seconds = ttl === undefined ? this.#ttl : checkTtl(ttl, 'ttl')
    const keys = Object.keys(entries)
    if (keys.length === 0) return
    const pairs: Array<string | Buffer> = []
    for (const key of keys) pairs.push(this.#key(key), this.#encode(entries[key]))
    await this.#run('mset', async () => {
      const multi = this.#redis.multi().mset(...pairs)
      for (const key of keys) multi.expire(this.#key(key), seconds)
      this.#checkExec(await multi.exec())
    })
  }

  /**
   * Takes the value of `key`: reads and deletes it in one transaction, so that of several instances
   * popping the same key exactly one gets the value. `undefined` when the key is not set.
   */
  async pop<T = unknown>(key: string): Promise<T | undefined> {
    const rkey = this.#key(key)
    const [[, body] = []] = await this.#run('pop', async () =>
      this.#checkExec(await this.#redis.multi().getBuffer(rkey).del(rkey).exec()),
    )
    return body == null ? undefined : (this.#decode(body as Buffer, key) as T)
  }

  /** Reads the value of `key` without deleting it. `undefined` when the key is not set. */
  async peek<T = unknown>(key: string): Promise<T | undefined> {
    const body = await this.#run('peek', () => this.#redis.getBuffer(this.#key(key)))
    return body === null ? undefined : (this.#decode(body, key) as T)
  }

  /**
   * Takes the values of all `keys` at once, only if every one is set: then they are deleted and
   * returned in order; otherwise nothing is deleted and the result is `undefined`. Atomic (one Lua
   * script), so of several instances exactly one gets the values.
   */
  async mpop<T = unknown>(...keys: string[]): Promise<T[] | undefined> {
    if (keys.length === 0) return []
    const bodies = await this.#run('mpop', () =>
      this.#redis.mpopBuffer(keys.length, ...keys.map((key) => this.#key(key))),
    )
    return bodies === null ? undefined : bodies.map((body, i) => this.#decode(body, keys[i] as string) as T)
  }

  /**
   * Reads the value of `key`, or creates it with `factory` and stores it when it is missing. The
   * creation runs under a lock shared with eventail (`key + '_lock'`, not namespaced, as eventail
   * names it), so of several instances asking at once exactly one calls `factory`, the others wait
   * for its value.
   */
  async peekOrCreate<T>(key: string, factory: () => T | Promise<T>, options: PeekOrCreateOptions): Promise<T> {
    const { maxOpTime } = options
    if (!(maxOpTime > 0)) {
      throw new TmpStoreError(
        'STORE_INVALID_ARGUMENT',
        `maxOpTime must be a positive number of seconds, not ${maxOpTime}`,
      )
    }
    const ttl = options.ttl === undefined ? undefined : checkTtl(options.ttl, 'ttl')
    const existing = await this.peek<T>(key)
    if (existing !== undefined) return existing
    const lock = `${key}_lock`
    const token = randomUUID().replaceAll('-', '')
    const lockMs = Math.ceil(maxOpTime * 1000)
    const lockWait = options.lockWait ?? 2 * lockMs
    const deadline = Date.now() + lockWait
    while ((await this.#run('peekOrCreate', () => this.#redis.set(lock, token, 'PX', lockMs, 'NX'))) === null) {
      if (Date.now() >= deadline) {
        throw new TmpStoreError(
          'STORE_LOCK_TIMEOUT',
          `could not take the lock '${lock}' within ${lockWait} ms: another instance is still creating '${key}' (raise maxOpTime or lockWait)`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS))
    }
    try {
      let value = await this.peek<T>(key)
      if (value === undefined) {
        value = await factory()
        await this.set(key, value, ttl)
      }
      return value
    } finally {
      const released = await this.#run('peekOrCreate', () => this.#redis.unlock(lock, token)).catch(() => 0)
      if (released !== 1) {
        this.#logger?.warn(`tmp-store: the lock '${lock}' expired before '${key}' was created: raise maxOpTime`)
      }
    }
  }

  /**
   * Closes the connection gracefully: waits for the commands in flight (at most `commandTimeout`),
   * then disconnects. Idempotent; the store cannot be used afterwards.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#redis.status === 'ready') {
        const timer = setTimeout(() => this.#redis.disconnect(), this.#commandTimeout)
        await this.#redis.quit().catch(() => undefined)
        clearTimeout(timer)
      }
      this.#redis.disconnect()
    })()
    return this.#closing
  }

  /**
   * Disconnects without waiting. Commands already sent may still complete (Redis has run them);
   * the others fail with `STORE_CLOSED`, as does every later call.
   */
  destroy(): void {
    this.#closing ??= Promise.resolve()
    this.#redis.disconnect()
  }

  /** Same as {@link TmpStore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #key(key: string): string {
    return this.#namespace + key
  }

  #encode(value: unknown): Buffer {
    try {
      return encode(value)
    } catch (error) {
      throw new TmpStoreError('STORE_ENCODE_FAILED', `cannot store this value: ${(error as Error).message}`, {
        cause: error,
      })
    }
  }

  #decode(body: Buffer, key: string): unknown {
    try {
      return decode(body, 'application/cbor')
    } catch (error) {
      throw new TmpStoreError(
        'STORE_DECODE_FAILED',
        `the value of '${this.#key(key)}' is not valid CBOR: ${(error as Error).message}`,
        { cause: error },
      )
    }
  }

  #checkExec<R>(results: Array<[Error | null, R]> | null): Array<[Error | null, R]> {
    if (results === null) throw new Error('transaction aborted')
    for (const [error] of results) if (error) throw error
    return results
  }

  #noteFailure(error: Error): void {
    if (this.#closing !== undefined) return
    if (!this.#failing) this.#logger?.warn(`tmp-store: ${this.#where} is unreachable: ${redactUrl(error.message)}`)
    this.#failing = true
  }

  async #run<R>(operation: string, command: () => Promise<R>): Promise<R> {
    if (this.#closing !== undefined) {
      throw new TmpStoreError('STORE_CLOSED', `${operation}: the store is closed`)
    }
    try {
      const result = await command()
      if (this.#failing && this.#redis.status === 'ready') this.#failing = false
      return result
    } catch (error) {
      if (error instanceof TmpStoreError) throw error
      const message = redactUrl((error as Error).message)
      if (this.#closing !== undefined) {
        throw new TmpStoreError('STORE_CLOSED', `${operation}: the store was closed`, { cause: error })
      }
      if (error instanceof ReplyError) {
        throw new TmpStoreError('STORE_COMMAND_FAILED', `${operation}: ${this.#where} refused: ${message}`, {
          cause: error,
        })
      }
      this.#noteFailure(error as Error)
      throw new TmpStoreError(
        'STORE_UNAVAILABLE',
        `${operation}: ${this.#where} did not answer within ${this.#commandTimeout} ms (${message}): start Redis or check the address`,
        { cause: error },
      )
    }
  }
}

/**
 * Connects to Redis (or to the master named by Redis Sentinel) and returns a ready store. Rejects
 * with `STORE_UNAVAILABLE` when no connection is made within `connectTimeout`.
 *
 * @example
 * ```ts
 * await using store = await createTmpStore({ namespace: 'transcoder:', sentinels: ['10.0.0.1:26379', '10.0.0.2:26379'], masterName: 'main' })
 * await store.set('job-42', { step: 1 })
 * const job = await store.pop('job-42') // exactly one instance gets it
 * ```
 */
export async function createTmpStore(options: TmpStoreOptions): Promise<TmpStore> {
  const { namespace, sentinels = [], db = 0, password, logger = null } = options
  const connectTimeout = options.connectTimeout ?? 2_000
  const commandTimeout = options.commandTimeout ?? 2_000
  if (typeof namespace !== 'string' || namespace === '') {
    throw new TmpStoreError('STORE_INVALID_ARGUMENT', 'namespace must be a non-empty string')
  }
  const ttl = checkTtl(options.ttl ?? 270, 'ttl')
  const common: RedisOptions = {
    db,
    password,
    connectTimeout,
    commandTimeout,
    // Bounded by commandTimeout instead: a command waits for a reconnection at most that long.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    // A former master turned replica answers writes with READONLY: reconnect to the new master and resend.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    lazyConnect: true,
  }
  let redis: Redis
  let where: string
  if (sentinels.length >= 2) {
    const masterName = options.masterName
    if (!masterName) {
      throw new TmpStoreError('STORE_INVALID_ARGUMENT', 'masterName is required with two or more sentinels')
    }
    const hosts = sentinels.map((address) => parseAddress(address, 'sentinel'))
    where = `Redis master '${masterName}' (sentinels ${hosts.map((h) => `${h.host}:${h.port}`).join(', ')})`
    redis = new Redis({
      ...common,
      sentinels: hosts,
      name: masterName,
      sentinelCommandTimeout: commandTimeout,
      sentinelRetryStrategy: (times) => Math.min(times * 100, 1_000),
      // No failoverDetector: in ioredis 6.0.0 a +switch-master that arrives while the client is
      // reconnecting makes connect() fail and ends the client for good (status 'end', every later
      // command 'Connection is closed.'), seen once in ~10 failovers. Sentinel kills the clients of
      // a demoted master anyway, and READONLY triggers a reconnection below.
    })
  } else {
    const { host, port } = parseAddress(sentinels[0] ?? options.redis ?? '127.0.0.1:6379', 'redis')
    where = `Redis at ${host}:${port}`
    redis = new Redis({ ...common, host, port })
  }
  const store = new TmpStore(redis, { namespace, ttl, where, commandTimeout, logger })
  // connect() itself only says 'Connection is closed.': the 'error' event has the reason.
  let lastError: Error | undefined
  const onError = (error: Error) => {
    lastError = error
  }
  redis.on('error', onError)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${connectTimeout} ms`)), connectTimeout)
      }),
    ])
  } catch (error) {
    store.destroy()
    const reason = lastError ?? (error as Error)
    const advice =
      reason instanceof ReplyError ? 'check the password and the database number' : 'start Redis or check the address'
    // ioredis says 'All sentinels are unreachable. Retrying from scratch after 400ms. Last error: …'.
    const said = reason.message.startsWith('All sentinels are unreachable') ? 'no sentinel answered' : reason.message
    throw new TmpStoreError('STORE_UNAVAILABLE', `cannot connect to ${where}: ${redactUrl(said)}: ${advice}`, {
      cause: reason,
    })
  } finally {
    clearTimeout(timer)
    redis.off('error', onError)
  }
  return store
}
