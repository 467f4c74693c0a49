/** What the libraries log through. Pass consola, `console`, or `null` for silence. */
export type Logger = Pick<Console, 'debug' | 'info' | 'warn' | 'error'>

const noop = (): void => {}

/** @internal a logger that drops everything */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }
