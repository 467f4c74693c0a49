import { isAmError } from '@am/errors'
import { type GelfMessage, type LevelName, type LogOptions, gelf as protocolGelf } from '@am/protocol'
import { ServiceError } from './errors.js'

export type { LevelName, LogOptions } from '@am/protocol'
export { LEVELS } from '@am/protocol'

/** `@am/protocol`'s GELF record; an invalid level throws a `ServiceError`, as services documented. @internal */
export function gelf(service: string, level: LevelName | number, short: string, options: LogOptions = {}): GelfMessage {
  try {
    return protocolGelf(service, level, short, options)
  } catch (error) {
    if (isAmError(error, 'LOG_INVALID_LEVEL'))
      throw new ServiceError('LOG_INVALID_LEVEL', error.message, { cause: error })
    throw error
  }
}
