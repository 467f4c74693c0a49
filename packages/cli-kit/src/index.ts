// Exit codes and errors

// Arguments
export type { NumberOptionRules } from './argv.js'
export { listOption, normalizeArgv, optionValues, parseNumberOption } from './argv.js'
// Broker
export type { ConnectBusOptions } from './connect.js'
export { connectBus, DEFAULT_CONNECT_TIMEOUT_MS } from './connect.js'

// Context and top-level policy
export type { CliContext } from './context.js'
export { createContext, ndjsonContext } from './context.js'
export type { CliErrorCode } from './errors.js'
export { CliError, exitCodeOf } from './errors.js'
export type { ExitCode } from './exit.js'
export { EXIT, EXIT_INTERRUPTED } from './exit.js'
export type { HelpSection } from './help.js'
export { singleCommandHelp } from './help.js'
// Tests
export type { MemoryContext } from './memory.js'
export { createMemoryContext } from './memory.js'
export { toJsonSafe, writeNdjson } from './ndjson.js'
// Payloads and output
export type { Payload } from './payload.js'
export { readPayload } from './payload.js'
export type { PublishStatus } from './publish.js'
export { publishMandatory } from './publish.js'
export { reportError, runCli } from './run.js'
export { isBrokerUrl, resolveUrl, splitUrl } from './url.js'
// Waiting and publishing
export type { DeadlineOptions } from './wait.js'
export { withDeadline } from './wait.js'
