import type { Supervisor } from '@am/bus-core'
import { isAmError } from '@am/errors'
import { CliError } from './errors.js'

/**
 * The number of ready messages in `queue`, which the tool reads from and so must exist.
 * @throws {CliError} `CLI_FAILED` when the vhost has no such queue.
 */
export async function countReadyMessages(bus: Supervisor, queue: string): Promise<number> {
  try {
    return (await bus.checkQueue(queue)).messageCount
  } catch (error) {
    if (isAmError(error, 'TOPOLOGY_NOT_FOUND')) {
      throw new CliError('CLI_FAILED', `queue ${JSON.stringify(queue)} does not exist on this vhost: check its name`, {
        cause: error,
      })
    }
    throw error
  }
}
