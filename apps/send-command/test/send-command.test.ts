import { createMemoryContext } from '@am/cli-kit/testing'
import { uniqueName, writeTempFile } from '@am/testkit'
import { describe, expect, inject, it } from 'vitest'
import { sendCommand } from '../src/commands/send-command.js'
import { startResponder } from './responder.js'

const url = inject('amqpUrl')

const options = { timeoutMs: 5_000, connectTimeoutMs: 5_000, ndjson: false }

describe('sendCommand', () => {
  it('sends the command as JSON with a private reply key and prints the success result', async () => {
    const responder = await startResponder(url)
    const memory = createMemoryContext()
    const result = await sendCommand(
      memory.ctx,
      { url, command: responder.command, payloadFile: await writeTempFile('p.json', '{"n": 18446744073709551616}') },
      { ...options, conversationId: 'conv-7' },
    )
    const [received] = responder.received
    expect(received).toEqual({
      correlationId: result.correlationId,
      replyTo: `debug.return.${result.correlationId}`,
      conversationId: 'conv-7',
      contentType: 'application/json',
    })
    expect(result).toEqual({
      status: 'success',
      correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      conversationId: 'conv-7',
      payload: { echo: { n: 18446744073709551616n }, correlationId: result.correlationId },
      elapsedMs: expect.any(Number),
      headers: { status: 'success', conversation_id: 'conv-7' },
    })
    expect(memory.messages.map((m) => m.type)).toEqual(['success', 'log'])
    expect(memory.messages[0]?.text).toBe(
      `success in ${result.elapsedMs} ms (correlation id ${result.correlationId}, conversation id conv-7)`,
    )
    expect(memory.messages[1]?.text).toBe(
      JSON.stringify({ echo: { n: '18446744073709551616' }, correlationId: result.correlationId }, null, 2),
    )
  })

  it('reports an error result', async () => {
    const responder = await startResponder(url, () => ({ status: 'error', payload: { reason: 'bad input' } }))
    const memory = createMemoryContext()
    const result = await sendCommand(
      memory.ctx,
      { url, command: responder.command, payloadFile: await writeTempFile('p.json', '{}') },
      options,
    )
    expect(result).toMatchObject({ status: 'error', payload: { reason: 'bad input' } })
    expect(memory.messages[0]?.type).toBe('error')
  })

  it('ignores results with another correlation id', async () => {
    const responder = await startResponder(url, () => ({ decoy: true }))
    const memory = createMemoryContext()
    const result = await sendCommand(
      memory.ctx,
      { url, command: responder.command, payloadFile: await writeTempFile('p.json', '{}') },
      options,
    )
    expect(result.payload).toEqual({ echo: {}, correlationId: result.correlationId })
    expect(memory.messages[0]).toEqual({
      type: 'warn',
      text: `ignoring a message on debug.return.${result.correlationId} with correlation id "someone-else"`,
    })
  })

  it('reports an unroutable command at once', async () => {
    const command = `${uniqueName('nosvc')}.Do`
    const memory = createMemoryContext()
    const started = Date.now()
    const result = await sendCommand(
      memory.ctx,
      { url, command, payloadFile: await writeTempFile('p.json', '{}') },
      {
        ...options,
        timeoutMs: 20_000,
      },
    )
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(result).toMatchObject({ status: 'unroutable', payload: null, headers: {} })
    expect(memory.messages).toEqual([
      {
        type: 'error',
        text: `no queue is bound for command ${command}: is the service ${command.split('.')[0]} running?`,
      },
    ])
  })

  it('times out with CLI_TIMEOUT and an NDJSON line when nobody answers', async () => {
    const responder = await startResponder(url, () => ({ silent: true }))
    const memory = createMemoryContext()
    await expect(
      sendCommand(
        memory.ctx,
        { url, command: responder.command, payloadFile: await writeTempFile('p.json', '{}') },
        { ...options, timeoutMs: 300, ndjson: true },
      ),
    ).rejects.toMatchObject({ code: 'CLI_TIMEOUT', exitCode: 2 })
    expect(JSON.parse(memory.stdout())).toMatchObject({ status: 'timeout', payload: null })
  })

  it('stops waiting at once on Ctrl-C', async () => {
    const responder = await startResponder(url, () => ({ silent: true }))
    const memory = createMemoryContext()
    const pending = sendCommand(
      memory.ctx,
      { url, command: responder.command, payloadFile: await writeTempFile('p.json', '{}') },
      { ...options, timeoutMs: 20_000 },
    )
    setTimeout(() => memory.abort(), 300)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
  })
})
