/** What a signal stops. */
interface Stoppable {
  stop(): Promise<void>
}

// Installed once per process for all running services.
const trapped = new Set<Stoppable>()
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const
let signalled = false

function onSignal(signal: NodeJS.Signals): void {
  if (signalled) {
    // A second signal: stop waiting, let the default behaviour end the process.
    for (const s of SIGNALS) process.removeListener(s, onSignal)
    process.kill(process.pid, signal)
    return
  }
  signalled = true
  for (const service of trapped) void service.stop()
}

/** Stops `service` on SIGTERM, SIGINT and SIGHUP. @internal */
export function trapSignals(service: Stoppable): void {
  if (trapped.size === 0) for (const s of SIGNALS) process.on(s, onSignal)
  trapped.add(service)
}

/** Undoes `trapSignals`; the handlers go with the last service. @internal */
export function untrapSignals(service: Stoppable): void {
  if (!trapped.delete(service) || trapped.size > 0) return
  for (const s of SIGNALS) process.removeListener(s, onSignal)
  signalled = false
}
