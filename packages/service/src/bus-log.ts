import { EXCHANGES, type Logger, type SupervisorLike } from '@am/bus-core'
import { gelf, type LevelName, type LogOptions } from './gelf.js'

/** A service's log on the bus: GELF on `logs`, routing key `<service>.<LEVEL>`. @internal */
export class BusLog {
  /** Set once the service made its supervisor: nothing is sent before. */
  bus: SupervisorLike | undefined

  constructor(
    private readonly service: string,
    private readonly logger: Logger | null,
  ) {}

  /** Never throws for the bus (a wrong level throws). */
  log(level: LevelName | number, short: string, options: LogOptions = {}): void {
    const { routingKey, body } = gelf(this.service, level, short, options)
    const bus = this.bus
    if (!bus) return
    bus.publish(EXCHANGES.logs, routingKey, body, { confirm: false }).catch((error: Error) => {
      this.logger?.debug(`log not sent: ${error.message}`)
    })
  }
}
