import { createMemoryContext } from '@am/cli-kit/testing'
import { uniqueName, waitFor } from '@am/testkit'
import { describe, expect, inject, it } from 'vitest'
import { type LoggerOptions, tailLogs } from '../src/commands/logger.js'
import { gelfPublisher } from './gelf.js'

const url = inject('amqpUrl')

async function start(options: Partial<LoggerOptions> & { filters: string[] }, isTTY = false) {
  const memory = createMemoryContext({ isTTY })
  const done = tailLogs(memory.ctx, { url }, { connectTimeoutMs: 5_000, ndjson: false, ...options })
  await waitFor(() => memory.messages.some((m) => m.text.startsWith('subscribed to logs')), 5_000, 'the subscription')
  return { memory, done }
}

describe('tailLogs', () => {
  it('prints [routing key] and the GELF body of each log matching the patterns', async () => {
    const service = uniqueName('logsvc')
    const { memory, done } = await start({ filters: [`${service}.*`], count: 2 })
    const publisher = await gelfPublisher(url)
    publisher.raw(`${uniqueName('other')}.INFO`, '{"level": 6}')
    publisher.raw(`${service}.INFO`, '{"version": "1.1", "short_message": "caf\\u00e9", "level": 6}')
    publisher.raw(`${service}.ERROR`, '{"level": 3}')
    await expect(done).resolves.toEqual({ shown: 2 })
    expect(memory.messages).toEqual([
      { type: 'info', text: `subscribed to logs: ${service}.*; Ctrl-C to quit` },
      { type: 'log', text: `[${service}.INFO] {"version": "1.1", "short_message": "caf\\u00e9", "level": 6}` },
      { type: 'log', text: `[${service}.ERROR] {"level": 3}` },
    ])
  })

  it('keeps only logs at or above the minimum level', async () => {
    const service = uniqueName('logsvc')
    const { memory, done } = await start({ filters: [`${service}.#`], level: 4, count: 2, ndjson: true })
    const publisher = await gelfPublisher(url)
    publisher.log(service, 6, 'info')
    publisher.log(service, 7, 'debug')
    publisher.log(service, 4, 'warning')
    publisher.raw(`${service}.ALERT`, 'not json at all')
    await expect(done).resolves.toEqual({ shown: 2 })
    const lines = memory
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { routingKey: string; log: { short_message?: string } | null; raw?: string })
    expect(lines.map((l) => [l.routingKey, l.log?.short_message ?? l.raw])).toEqual([
      [`${service}.WARNING`, 'warning'],
      [`${service}.ALERT`, 'not json at all'],
    ])
    expect(lines[1]).toEqual({ routingKey: `${service}.ALERT`, log: null, raw: 'not json at all' })
    expect(memory.messages).toContainEqual({
      type: 'warn',
      text: `a log on ${service}.ALERT is not GELF JSON; showing it as text`,
    })
  })

  it('colours lines by level on a terminal', async () => {
    const service = uniqueName('logsvc')
    const { memory, done } = await start({ filters: [`${service}.*`], count: 3 }, true)
    const publisher = await gelfPublisher(url)
    publisher.raw(`${service}.ERROR`, '{"level": 3}')
    publisher.raw(`${service}.WARNING`, '{"level": 4}')
    publisher.raw(`${service}.INFO`, '{"level": 6}')
    await done
    expect(memory.messages.filter((m) => m.type === 'log').map((m) => m.text)).toEqual([
      `\u001b[31m[${service}.ERROR] {"level": 3}\u001b[0m`,
      `\u001b[33m[${service}.WARNING] {"level": 4}\u001b[0m`,
      `[${service}.INFO] {"level": 6}`,
    ])
  })

  it('returns at Ctrl-C with the number of logs shown', async () => {
    const service = uniqueName('logsvc')
    const { memory, done } = await start({ filters: [`${service}.*`] })
    const publisher = await gelfPublisher(url)
    publisher.log(service, 6, 'one')
    await waitFor(() => memory.messages.some((m) => m.type === 'log'), 5_000, 'the log')
    memory.abort()
    await expect(done).resolves.toEqual({ shown: 1 })
  })
})
