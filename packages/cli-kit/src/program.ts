import { type CAC, type Command, cac } from 'cac'
import { type NormalizeArgvOptions, normalizeArgv, parseSecondsOption } from './argv.js'
import { DEFAULT_CONNECT_TIMEOUT_MS } from './connect.js'
import type { CliContext } from './context.js'
import { EXIT } from './exit.js'
import { singleCommandHelp } from './help.js'
import { runCli } from './run.js'

/** What `createProgram` needs to know about a tool. */
export interface ProgramOptions {
  /** The binary's name (`am-publish-event`). */
  name: string
  /** Printed by `--version`. */
  version: string
  /** What the tool does, in one sentence. */
  description: string
  /** What follows the name on the usage line (`[url] <event> <payload_file> [options]`). */
  usage: string
  /** The help line of `--ndjson` (what goes to stdout). */
  ndjson: string
  /** Body of the `Exit codes` section of `--help`: `exitCodesHelp({ 1: '…' })`. */
  exitCodes: string
}

/**
 * A cac program with one default command `[...args]` and what every debug tool shares: the
 * `--connect-timeout <seconds>` (default 5) and `--ndjson` options, the help layout every tool
 * shares (see `singleCommandHelp`) and `--version` (the bare version). Add the tool's own options, examples and action to `command`; they come
 * first in `--help`.
 * @example
 * const { cli, command } = createProgram({ name: 'am-logger', version, description, usage, ndjson, exitCodes })
 * command.option('--count <n>', 'Exit after this many logs').action((positionals, options) => …)
 */
export function createProgram(options: ProgramOptions): { cli: CAC; command: Command } {
  const cli = cac(options.name)
  const command = cli.command('[...args]', options.description).usage(options.usage)
  cli.option('--connect-timeout <seconds>', 'Wait at most this long for the broker', {
    default: DEFAULT_CONNECT_TIMEOUT_MS / 1000,
  })
  cli.option('--ndjson', options.ndjson)
  cli.help(singleCommandHelp({ name: options.name, description: options.description, exitCodes: options.exitCodes }))
  cli.version(options.version)
  // cac prints `<name>/<version> <platform>`: the bare version is what scripts compare.
  cli.globalCommand.outputVersion = () => console.info(options.version)
  return { cli, command }
}

/** How `parseArgv` prepares the argv, beyond what it finds in the program. */
export type ArgvOptions = Pick<NormalizeArgvOptions, 'variadic'>

/**
 * Parses an argv (`process.argv`, or `['node', 'tool', …args]` in tests) the way the tools do:
 * `normalizeArgv` with the given variadic options and every boolean option of `cli` whose name
 * has a dash; the command is not run.
 */
export function parseArgv(cli: CAC, argv: readonly string[], options: ArgvOptions = {}): ReturnType<CAC['parse']> {
  const booleans = [cli.globalCommand, ...cli.commands]
    .flatMap((command) => command.options)
    .filter((option) => option.isBoolean && !option.negated)
    .flatMap((option) => option.rawName.match(/--[a-z0-9]+(?:-[a-z0-9]+)+\b/g) ?? [])
    .map((flag) => flag.slice(2))
  return cli.parse(normalizeArgv(argv, { ...options, booleans }), { run: false })
}

/**
 * A tool's shebang entry: `runCli` with the program `createCli` builds, parsing `process.argv`
 * with `parseArgv` and exiting with the code the command returns (0 after `--help`/`--version`).
 * @example
 * await runProgram(createCli, { variadic: ['filter'] })
 */
export function runProgram(createCli: (ctx: CliContext) => CAC, argv: ArgvOptions = {}): Promise<never> {
  return runCli(async (ctx) => {
    const cli = createCli(ctx)
    parseArgv(cli, process.argv, argv)
    if (!cli.matchedCommand) return EXIT.OK // --help or --version
    return ((await cli.runMatchedCommand()) as number | undefined) ?? EXIT.OK
  })
}

/** The options every tool has, checked. */
export interface CommonOptions {
  /** `--connect-timeout`, in ms. */
  connectTimeoutMs: number
  ndjson: boolean
}

/**
 * Reads `--connect-timeout` (seconds → ms, default 5 s) and `--ndjson` as cac hands them.
 * @throws {CliError} `CLI_USAGE` when the timeout is not a number of seconds above 0.
 */
export function parseCommonOptions(options: { connectTimeout?: unknown; ndjson?: unknown }): CommonOptions {
  return {
    connectTimeoutMs: parseSecondsOption('connect-timeout', options.connectTimeout) ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ndjson: options.ndjson === true,
  }
}
