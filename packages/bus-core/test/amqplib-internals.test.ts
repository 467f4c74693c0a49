import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { uniqueName } from '@am/testkit'
import { type ChannelModel, connect } from 'amqplib'
import { describe, expect, inject, it, onTestFinished } from 'vitest'
import {
  batchWrites,
  CHECKED_AMQPLIB_VERSION,
  destroySocket,
  isChannelClosing,
  isNackedConfirm,
  isRefusedAtOpen,
} from '../src/amqplib-internals.js'

const url = inject('amqpUrl')

/** amqplib's `exports` map hides its package.json: read it next to its entry point. */
function installedAmqplibVersion(): string {
  const entry = createRequire(import.meta.url).resolve('amqplib')
  return (JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8')) as { version: string }).version
}

async function open(target = url): Promise<ChannelModel> {
  const model = await connect(target)
  model.on('error', () => undefined)
  onTestFinished(() => model.close().catch(() => undefined))
  return model
}

describe('the amqplib internals bus-core relies on', () => {
  it('were checked against the installed amqplib (re-check every item of src/amqplib-internals.ts when this fails)', () => {
    expect(installedAmqplibVersion()).toBe(CHECKED_AMQPLIB_VERSION)
  })

  it('batchWrites corks the muxer, and messages still go through', async () => {
    const model = await open()
    type Muxer = { _readIncoming: () => void; out: { cork: () => void } }
    const muxer = (model.connection as unknown as { muxer: Muxer }).muxer
    let corks = 0
    const cork = muxer.out.cork.bind(muxer.out)
    muxer.out.cork = () => {
      corks += 1
      cork()
    }
    expect(batchWrites(model)).toBe(true)
    const channel = await model.createChannel()
    const { queue } = await channel.assertQueue('', { exclusive: true })
    channel.sendToQueue(queue, Buffer.from('corked'))
    const got = await new Promise<string>((resolve) => {
      void channel.consume(queue, (message) => resolve(message?.content.toString() ?? ''), { noAck: true })
    })
    expect({ got, corked: corks > 0 }).toEqual({ got: 'corked', corked: true })
  })

  it('destroySocket drops the connection at once, with an error', async () => {
    const model = await open()
    const closed = new Promise<Error | undefined>((resolve) => model.once('close', resolve))
    expect(destroySocket(model)).toBe(true)
    const error = await closed
    expect(error).toBeInstanceOf(Error)
  })

  it('isNackedConfirm recognises a confirm the broker nacked', async () => {
    const model = await open()
    const channel = await model.createConfirmChannel()
    const { queue } = await channel.assertQueue(uniqueName('full'), {
      exclusive: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    })
    const confirm = (body: string) =>
      new Promise<unknown>((resolve) => channel.sendToQueue(queue, Buffer.from(body), {}, (error) => resolve(error)))
    const [first, second] = [await confirm('1'), await confirm('2')]
    expect([isNackedConfirm(first), isNackedConfirm(second)]).toEqual([false, true])
  })

  it('isChannelClosing recognises an operation on a closed channel', async () => {
    const model = await open()
    const channel = await model.createChannel()
    await channel.close()
    let thrown: unknown
    try {
      channel.publish('', 'nowhere', Buffer.from('x'))
    } catch (error) {
      thrown = error
    }
    expect([isChannelClosing(thrown), isChannelClosing(new Error('other'))]).toEqual([true, false])
  })

  it('isRefusedAtOpen recognises the text of a connection refused at connection.open (unknown vhost)', async () => {
    const target = new URL(url)
    target.pathname = `/${uniqueName('no-vhost')}`
    const error = await connect(target.href).then(
      (model) => {
        void model.close()
        return undefined
      },
      (error: unknown) => error,
    )
    expect([isRefusedAtOpen((error as Error).message), isRefusedAtOpen('ECONNREFUSED')]).toEqual([true, false])
  })
})
