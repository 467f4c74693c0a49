import { isPattern, matchesTopic } from '@am/protocol'

export { isPattern, matchesTopic }

/** Finds the handler for a routing key: an exact key first, then patterns in declaration order. @internal */
export class HandlerTable<H> {
  private readonly exact = new Map<string, H>()
  private readonly patterns: Array<[string, H]> = []

  constructor(entries: Iterable<[string, H]>) {
    for (const [key, handler] of entries) {
      if (isPattern(key)) this.patterns.push([key, handler])
      else this.exact.set(key, handler)
    }
  }

  get keys(): string[] {
    return [...this.exact.keys(), ...this.patterns.map(([key]) => key)]
  }

  get size(): number {
    return this.exact.size + this.patterns.length
  }

  find(routingKey: string): H | undefined {
    const exact = this.exact.get(routingKey)
    if (exact !== undefined) return exact
    for (const [pattern, handler] of this.patterns) if (matchesTopic(pattern, routingKey)) return handler
    return undefined
  }
}
