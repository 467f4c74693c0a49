export type { AmErrorOptions } from './am-error.js'
export { AmError, isAmError } from './am-error.js'
export { redactUrl } from './redact.js'
