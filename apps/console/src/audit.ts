import type { Supervisor } from '@am/bus-core'
import { type CliContext, toJsonSafe, writeNdjson } from '@am/cli-kit'
import { EXCHANGES, gelf } from '@am/protocol'

/** One audited action: who did what, when, and what the broker confirmed. */
export interface AuditRecord {
  /** ISO time the action finished. */
  at: string
  /** The operator's name as the page gives it, and the address the request came from. */
  who: string
  from: string
  action: 'replay' | 'delete'
  dlq: string
  /** The dead letters asked for (ids), and what the selection was when by filter. */
  selection: unknown
  /** What happened, per dead letter. */
  outcome: unknown
  /** A one-line summary. */
  summary: string
}

/** The logical service name of the console's logs on the bus. */
export const AUDIT_SERVICE = 'am-console'

/**
 * Writes an audit record on stdout (a line, or an NDJSON object) and on the bus: a GELF NOTICE on
 * `logs` (`am-console.NOTICE`), published with a broker confirm. Resolves once confirmed.
 */
export async function audit(ctx: CliContext, bus: Supervisor, record: AuditRecord, ndjson: boolean): Promise<void> {
  if (ndjson) writeNdjson(ctx, { audit: record })
  else
    ctx.logger.log(
      `audit ${record.at} ${record.who} (${record.from}) ${record.action} on ${record.dlq}: ${record.summary}`,
    )
  const log = gelf(AUDIT_SERVICE, 'NOTICE', `${record.who} ${record.action} on ${record.dlq}: ${record.summary}`, {
    full: JSON.stringify(toJsonSafe(record)),
    fields: { action: record.action, who: record.who, from: record.from, dlq: record.dlq },
  })
  await bus.publish(EXCHANGES.logs, log.routingKey, log.body, { contentType: 'application/json' })
}
