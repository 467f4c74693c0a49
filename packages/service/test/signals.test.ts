import { spawn } from 'node:child_process'
import { describe, expect, it, onTestFinished } from 'vitest'
import { eventProperties } from '../src/index.js'
import { cleanupQueues, logSpy, peer, send, unacked, uniqueName, url, waitFor } from './helpers.js'

describe('signals', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    'stops gracefully on %s, finishing the message in hand',
    async (signal) => {
      const name = uniqueName('sig')
      cleanupQueues(name)
      const bus = await peer()
      const logs = await logSpy(bus, name)
      const child = spawn(
        process.execPath,
        [new URL('./fixtures/signal-service.mjs', import.meta.url).pathname, name],
        {
          env: { ...process.env, AMQP_URL: url },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
      onTestFinished(() => {
        child.kill('SIGKILL')
      })
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
      })
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      await waitFor(() => out.includes('ready'), 15_000, 'the service to be ready')
      await send(bus, 'events', `${name}-Nap`, 1, eventProperties('c'))
      await waitFor(() => out.includes('handling'), 5_000, 'the message in hand')
      const started = Date.now()
      child.kill(signal)
      expect(await exited).toBe(0)
      const elapsed = Date.now() - started
      expect(out.trim().split('\n')).toEqual(['ready', 'handling', 'stopped'])
      expect(elapsed).toBeLessThan(5_000)
      expect(await unacked(`${name}.events`)).toBe(0)
      expect((await bus.checkQueue(`${name}.events`)).messageCount).toBe(0)
      await waitFor(() => logs.levels().includes('WARNING'))
    },
    30_000,
  )
})
