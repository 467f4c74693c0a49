// The example of README.md, kept compiling and passing (only the import path differs).
import { randomUUID } from 'node:crypto'
import { type Handlers, Service } from '@am/service'
import { describe, expect, it } from 'vitest'
import { createHarness, startService } from '../src/index.js'

interface Echo {
  message: string
}

/** Answers `pong.Echo` with `{ echo }`. */
class Pong extends Service {
  readonly name = 'pong'

  protected handlers(): Handlers {
    return {
      commands: {
        'pong.Echo': async (payload, ctx) => {
          await ctx.returnSuccess({ echo: (payload as Echo).message })
        },
      },
    }
  }
}

/** Sends `pong.Echo` every second and keeps the echoes. */
class Ping extends Service {
  readonly name = 'ping'
  readonly echoes: string[] = []

  protected handlers(): Handlers {
    return {
      results: {
        'ping.EchoReturn': (payload) => {
          this.echoes.push((payload as { echo: string }).echo)
        },
      },
    }
  }

  protected override onReady(): void {
    this.callLater(1_000, () => this.tick())
  }

  private async tick(): Promise<void> {
    this.callLater(1_000, () => this.tick())
    const options = { conversationId: randomUUID(), replyTo: 'ping.EchoReturn' }
    await this.sendCommand('pong.Echo', { message: `ping #${this.echoes.length + 1}` }, options)
  }
}

/** Fails on orders without a total. */
class Billing extends Service {
  readonly name = 'billing'

  protected handlers(): Handlers {
    return {
      events: {
        OrderPlaced: (order) => {
          if (typeof (order as { total?: number }).total !== 'number') throw new Error('no total')
        },
      },
    }
  }
}

describe('pong', () => {
  it('answers pong.Echo with a success result', async () => {
    await using h = await startService(Pong)
    const result = await h.sendCommand('pong.Echo', { message: 'hi' })
    expect([result.status, result.payload]).toEqual(['success', { echo: 'hi' }])
  })

  it('talks with ping, on fake time', async () => {
    await using h = createHarness({ fakeTime: true })
    await h.start(Pong)
    const ping = await h.start(Ping)
    await h.clock.advance(3_000) // three ticks, each handled before the next
    expect(ping.echoes).toEqual(['ping #1', 'ping #2', 'ping #3'])
    expect(h.published.filter((m) => m.kind === 'result').map((m) => m.routingKey)).toEqual([
      'ping.EchoReturn',
      'ping.EchoReturn',
      'ping.EchoReturn',
    ])
  })
})

describe('billing', () => {
  it('retries a failing handler once, then dead-letters the message', async () => {
    await using h = await startService(Billing)
    const { outcome, logs, deadLetters } = await h.publishEvent('OrderPlaced', { orderId: 'A-1' })
    expect(outcome).toBe('dead-lettered')
    expect(logs.map((l) => l.level)).toEqual(['ALERT', 'ALERT', 'EMERGENCY'])
    expect(deadLetters[0]?.deaths[0]).toMatchObject({ count: 1, reason: 'rejected', queue: 'billing.events' })
    expect(h.broker.queue('dead_letters')?.messages).toHaveLength(1)
  })
})
