import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { python, runPython } from '@am/testkit'
import { describe, expect, it, onTestFinished } from 'vitest'
import { cleanupQueues, run, TableService, uniqueName, url, waitFor } from './helpers.js'

const Interop = TableService

// A Python peer written with Debian's python3-pika and python3-cbor2, raw AMQP per docs/protocol.md.
const peerScript = readFileSync(new URL('./python/peer.py', import.meta.url), 'utf8')
const pythonUrl = url // pika reads the same amqp URL

describe('interop with a Python eventail-style peer', () => {
  it('answers commands and events from Python, which reads our results, events and logs', async () => {
    const name = uniqueName('tsvc')
    cleanupQueues(name)
    const received: unknown[] = []
    await run(
      (o) =>
        new Interop(
          name,
          {
            commands: {
              [`${name}.Echo`]: (payload, ctx) => {
                received.push(payload)
                ctx.log('NOTICE', 'echoing ☃', { fields: { size: 3 } })
                void ctx.returnSuccess({ echo: payload, big: 2n ** 64n })
              },
            },
            events: {
              [`${name}-Asked`]: (payload, ctx) => {
                void ctx.publishEvent(`${name}-Answered`, { answer: (payload as { question: number }).question })
              },
            },
          },
          o,
        ),
    )
    const out = JSON.parse(await runPython(peerScript, ['client', pythonUrl, name]))
    expect(received).toEqual([{ text: 'héllo ☃', at: 1732800000000, f: 1.5, raw: new Uint8Array([0, 255]) }])
    expect(out.result).toEqual({
      routing_key: expect.stringMatching(/^pypeer-.*\.EchoReturn$/),
      headers: [
        ['status', 'success'],
        ['conversation_id', 'py-conv-1'],
      ],
      correlation_id: 'py-corr-1',
      reply_to: '',
      content_type: 'application/cbor',
      delivery_mode: 2,
      payload: {
        echo: { text: 'héllo ☃', at: 1732800000000, f: 1.5, raw: { bytes: '00ff' } },
        big: { int: '18446744073709551616' },
      },
    })
    expect(out.event).toEqual({
      routing_key: `${name}-Answered`,
      headers: { conversation_id: 'py-conv-2' },
      content_type: 'application/cbor',
      payload: { answer: 42 },
    })
    expect(out.logs[0]).toMatchObject({
      routing_key: `${name}.NOTICE`,
      gelf: {
        version: '1.1',
        short_message: 'echoing ☃',
        level: 5,
        _levelname: 'NOTICE',
        _conversation_id: 'py-conv-1',
        _logical_service: name,
        _size: 3,
      },
    })
  })

  it('sends requests that a Python responder answers, error results included', async () => {
    const responder = uniqueName('pyresponder')
    cleanupQueues(responder)
    const child = spawn(python, ['-c', peerScript, 'responder', pythonUrl, responder, '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    onTestFinished(() => {
      child.kill()
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    await waitFor(() => stdout.includes('"ready"'), 20_000, `the Python responder (${stderr})`)
    const client = await run((o) => new Interop(uniqueName('tsclient'), {}, o))
    expect(await client.request(`${responder}.Square`, 7, { conversationId: 'to-py-1' })).toBe(49)
    expect(await client.request(`${responder}.Square`, 2 ** 40, { conversationId: 'to-py-2' })).toBe(2n ** 80n)
    await expect(client.request(`${responder}.Square`, 'x', { conversationId: 'to-py-3' })).rejects.toMatchObject({
      code: 'REQUEST_FAILED',
      payload: { reason: 'not an int' },
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(await exited).toBe(0)
    const seen = JSON.parse(stdout.trim().split('\n').pop() as string).seen
    expect(seen.map((s: { conversation_id: string; payload: unknown }) => [s.conversation_id, s.payload])).toEqual([
      ['to-py-1', 7],
      ['to-py-2', 2 ** 40],
      ['to-py-3', 'x'],
    ])
  })
})
