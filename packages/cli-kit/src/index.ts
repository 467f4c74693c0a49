// Exit codes, errors and the top-level policy

export type { CliErrorCode } from './errors.js'
export { CliError, exitCodeOf } from './errors.js'
export type { ExitCode } from './exit.js'
export { EXIT, EXIT_INTERRUPTED } from './exit.js'
export { reportError, runCli } from './run.js'

// Context

export type { CliContext } from './context.js'
export { createContext, ndjsonContext } from './context.js'

// Program, arguments and help

export type { NumberOptionRules } from './argv.js'
export { listOption, optionValues, parseNumberOption, parseSecondsOption } from './argv.js'
export type { ExitCodesHelp } from './help.js'
export { exitCodesHelp } from './help.js'
export type { ArgvOptions, CommonOptions, ProgramOptions } from './program.js'
export { createProgram, parseArgv, parseCommonOptions, runProgram } from './program.js'
export { isBrokerUrl, resolveUrl, splitPayloadArgs, splitUrl } from './url.js'

// Broker, waiting and publishing

export type { ConnectBusOptions } from './connect.js'
export { connectBus } from './connect.js'
export type { PublishPayloadFileOptions, PublishStatus } from './publish.js'
export { publishMandatory, publishPayloadFile } from './publish.js'
export { countReadyMessages } from './queue.js'
export type { DeadlineOptions } from './wait.js'
export { formatDuration, withDeadline } from './wait.js'

// Payloads, headers, output and files

export { readableHeaders } from './headers.js'
export { toJsonSafe, writeNdjson } from './ndjson.js'
export type { Payload } from './payload.js'
export { readPayload } from './payload.js'
export type { Progress } from './progress.js'
export { createProgress } from './progress.js'
export { checkSaveDirectory, extensionFor, safeNamePart, saveUnique } from './save.js'

// Logic shared by the tools and am-console: the management API, am-resurrect's routing decision,
// am-inspect-queue's and am-monitor's readable forms of a message, the monitor's payload filters,
// the logger's GELF parsing

export type { InspectedMessage, LogLine, MonitoredKind, MonitoredMessage, MonitoredOrigin } from './describe.js'
export { describeDelivery, describeFetched, logLevelOf, parseLog } from './describe.js'
export type { FieldFilter } from './filter.js'
export { matchesFilters, parseFieldFilter } from './filter.js'
export type { ManagementApi, QueueConsumers } from './management.js'
export { createManagementApi, ManagementError } from './management.js'
export type { MessageKind, ReplayAction, ReplayReport, ReplayRoute, ReplayRules } from './replay.js'
export {
  deadLetterKind,
  deathOf,
  describeReplayFailure,
  fingerprint,
  planReplay,
  queueExistence,
  replayOptions,
} from './replay.js'
