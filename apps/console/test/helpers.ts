import { createMemoryContext, type MemoryContext } from '@am/cli-kit/testing'
import { onTestFinished } from 'vitest'
import { type ConsoleSettings, type RunningConsole, startConsole } from '../src/commands/console.js'

/** A console started for the test on a free loopback port, closed after it. */
export async function testConsole(
  url: string,
  settings: Partial<ConsoleSettings> = {},
): Promise<{ console: RunningConsole; memory: MemoryContext; base: string }> {
  const memory = createMemoryContext()
  const running = await startConsole(memory.ctx, {
    url,
    port: 0,
    host: '127.0.0.1',
    token: undefined,
    dlqs: ['dead_letters'],
    managementUrl: undefined,
    live: false,
    ndjson: true,
    connectTimeoutMs: 5000,
    ...settings,
  })
  onTestFinished(() => running.close())
  return { console: running, memory, base: running.server.url }
}

/** GET or POST JSON on the console; returns the status and the parsed body. */
export async function call(
  base: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(new URL(path, base), {
    ...(body === undefined
      ? { headers }
      : { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }),
  })
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.status, body: parsed, text }
}
