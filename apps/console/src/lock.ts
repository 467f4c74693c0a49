/**
 * Runs tasks one after the other: every operation on a dead-letter queue takes its messages out
 * for a moment (listing, replay, delete), so two at once would see each other's gaps.
 */
export function createLock(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task)
    tail = run.catch(() => undefined)
    return run
  }
}
