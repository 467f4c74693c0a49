// The broker and the harness run on the real timers, captured when this module loads, so that fake
// timers (ours, vitest's `vi.useFakeTimers()`, sinon's) only move the service's own timers
// (`callLater`, retry delays, request timeouts). When fake timers were installed before this module
// loaded, @sinonjs/fake-timers (which vitest uses) keeps the originals on its clock as `_<name>`.

type Faked<T> = T & { clock?: Record<string, unknown> }

function original<T>(name: string, current: T): T {
  const clock = (current as Faked<T>).clock
  const kept = clock?.[`_${name}`]
  return (typeof kept === 'function' ? kept : current) as T
}

/** The real `setTimeout`. @internal */
export const realSetTimeout: typeof setTimeout = original('setTimeout', globalThis.setTimeout)
/** The real `clearTimeout`. @internal */
export const realClearTimeout: typeof clearTimeout = original('clearTimeout', globalThis.clearTimeout)
/** The real `setImmediate`. @internal */
export const realSetImmediate: typeof setImmediate = original('setImmediate', globalThis.setImmediate)
/** The real `Date.now`. @internal */
export const realNow: () => number = original('now', Date.now)

/** Resolves after `ms` of real time; the timer does not keep the process alive. @internal */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms).unref())
}

/** Resolves after one turn of the event loop (real `setImmediate`). @internal */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve))
}
