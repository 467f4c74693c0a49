import { createSupervisor, defineTopology, EXCHANGES } from '@am/bus-core'
import { decode, encode } from '@am/codec'
import { resultProperties } from '@am/protocol'
import { uniqueName } from '@am/testkit'
import { onTestFinished } from 'vitest'

/** What the responder does with a command: the status, payload and an optional decoy sent first. */
export interface Answer {
  status?: 'success' | 'error'
  payload?: unknown
  /** Send a result with another correlation id to the same reply key first. */
  decoy?: boolean
  /** Do not answer at all. */
  silent?: boolean
}

/**
 * A tiny service on a unique command key: it answers every command on its reply_to with
 * `resultProperties`, echoing the command's payload and ids (or what `answer` says).
 */
export async function startResponder(url: string, answer: (payload: unknown) => Answer = () => ({})) {
  const service = uniqueName('debugsvc')
  const command = `${service}.Echo`
  const bus = createSupervisor({
    urls: url,
    topology: defineTopology({
      exchanges: [{ name: EXCHANGES.commands, type: 'topic' }],
      queues: [{ key: 'commands', name: '' }],
      bindings: [{ queue: 'commands', exchange: EXCHANGES.commands, routingKey: command }],
    }),
  })
  onTestFinished(() => bus.destroy())
  await bus.ready()
  const received: Array<{ correlationId: string; replyTo: string; conversationId: string; contentType: string }> = []
  await bus.consume('commands', (delivery) => {
    const correlationId = String(delivery.properties.correlationId)
    const replyTo = String(delivery.properties.replyTo)
    const contentType = String(delivery.properties.contentType)
    const conversationId = String(delivery.headers.conversation_id)
    received.push({ correlationId, replyTo, conversationId, contentType })
    const input = decode(delivery.body, contentType)
    const reply = answer(input)
    delivery.ack()
    if (reply.silent) return
    const send = (correlation: string, body: unknown) =>
      bus.publish(
        EXCHANGES.commands,
        replyTo,
        encode(body, 'application/cbor'),
        resultProperties(conversationId, reply.status ?? 'success', correlation, 'application/cbor'),
      )
    void (async () => {
      // Awaited one after the other so that the decoy arrives first.
      if (reply.decoy) await send('someone-else', { decoy: true })
      await send(correlationId, reply.payload ?? { echo: input, correlationId })
    })()
  })
  return { command, service, received }
}
