import { describe, expect, it } from 'vitest'
import {
  DEAD_LETTERS,
  DEFAULT_BUFFER_MESSAGES,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONFIRM_WINDOW,
  DEFAULT_PREFETCH,
  EXCHANGES,
  serviceQueueName,
  TOOL_PREFETCH,
} from '../src/index.js'

describe('the bus as eventail defines it', () => {
  it('names the exchanges and the service queues', () => {
    expect({
      exchanges: EXCHANGES,
      queues: [serviceQueueName('billing', 'events'), serviceQueueName('billing', 'commands')],
      deadLetters: DEAD_LETTERS,
    }).toEqual({
      exchanges: { events: 'events', commands: 'commands', configurations: 'configurations', logs: 'logs' },
      queues: ['billing.events', 'billing.commands'],
      deadLetters: {
        exchange: 'am-dlx',
        queue: 'dead_letters',
        policyName: 'DLX',
        pattern: '^.*\\.(events|commands)$',
      },
    })
  })

  it('has one set of defaults', () => {
    expect({
      DEFAULT_PREFETCH,
      TOOL_PREFETCH,
      DEFAULT_CONFIRM_WINDOW,
      DEFAULT_BUFFER_MESSAGES,
      DEFAULT_CLOSE_TIMEOUT_MS,
    }).toEqual({
      DEFAULT_PREFETCH: 3,
      TOOL_PREFETCH: 100,
      DEFAULT_CONFIRM_WINDOW: 1000,
      DEFAULT_BUFFER_MESSAGES: 10_000,
      DEFAULT_CLOSE_TIMEOUT_MS: 10_000,
    })
  })

  it('matches the policy pattern to service queues only', () => {
    const pattern = new RegExp(DEAD_LETTERS.pattern)
    expect(
      ['billing.events', 'billing.commands', 'billing.events.x', 'amq.gen-1', 'dead_letters'].map((q) =>
        pattern.test(q),
      ),
    ).toEqual([true, true, false, false, false])
  })
})
