import { describe, expect, it } from 'vitest'
import { defineTopology, eventailTopology, mergeTopologies, TopologyError } from '../src/index.js'

describe('eventailTopology', () => {
  it('declares what an eventail service declares', () => {
    expect(
      eventailTopology({
        service: 'pong',
        events: ['Ping', 'Spec.*'],
        commands: ['pong.Echo'],
        configurations: ['Cfg'],
      }),
    ).toEqual({
      exchanges: [
        { name: 'events', type: 'topic' },
        { name: 'commands', type: 'topic' },
        { name: 'configurations', type: 'topic' },
        { name: 'logs', type: 'topic', channel: 'log' },
      ],
      queues: [
        { key: 'events', name: 'pong.events' },
        { key: 'commands', name: 'pong.commands' },
        { key: 'configurations', name: '' },
      ],
      bindings: [
        { queue: 'events', exchange: 'events', routingKey: 'Ping' },
        { queue: 'events', exchange: 'events', routingKey: 'Spec.*' },
        { queue: 'commands', exchange: 'commands', routingKey: 'pong.Echo' },
        { queue: 'configurations', exchange: 'configurations', routingKey: 'Cfg' },
      ],
    })
  })

  it('declares no queue for an exchange without keys', () => {
    const topology = eventailTopology({ service: 'pub' })
    expect([topology.queues, topology.bindings]).toEqual([[], []])
  })

  it('uses server-named exclusive queues for tools', () => {
    const topology = eventailTopology({ service: 'tool', events: ['#'], exclusive: true })
    expect(topology.queues).toEqual([{ key: 'events', name: '' }])
  })

  it('marks service queues as quorum queues on request', () => {
    const topology = eventailTopology({ service: 's', commands: ['s.Do'], queueType: 'quorum' })
    expect(topology.queues).toEqual([{ key: 'commands', name: 's.commands', arguments: { 'x-queue-type': 'quorum' } }])
  })
})

describe('defineTopology', () => {
  it('rejects a binding to an undeclared queue', () => {
    expect(() => defineTopology({ bindings: [{ queue: 'nope', exchange: 'events', routingKey: '#' }] })).toThrowError(
      expect.objectContaining({ code: 'TOPOLOGY_UNKNOWN_QUEUE' }),
    )
  })

  it('rejects a queue key declared twice', () => {
    expect(() =>
      defineTopology({
        queues: [
          { key: 'a', name: 'x' },
          { key: 'a', name: 'y' },
        ],
      }),
    ).toThrowError(TopologyError)
  })
})

describe('mergeTopologies', () => {
  it('joins topologies and drops identical duplicates', () => {
    const a = eventailTopology({ service: 's', events: ['A'] })
    const b = eventailTopology({ service: 's', events: ['A'], commands: ['s.Do'] })
    const merged = mergeTopologies(a, b)
    expect([merged.exchanges.length, merged.queues.length, merged.bindings.length]).toEqual([4, 2, 2])
  })

  it('refuses the same queue key with different attributes', () => {
    const a = eventailTopology({ service: 's', events: ['A'] })
    const b = eventailTopology({ service: 's', events: ['A'], queueType: 'quorum' })
    expect(() => mergeTopologies(a, b)).toThrowError(expect.objectContaining({ code: 'TOPOLOGY_INVALID' }))
  })
})
