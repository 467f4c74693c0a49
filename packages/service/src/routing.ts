/**
 * Tells whether an AMQP topic pattern matches a routing key: words are separated by dots, `*`
 * matches exactly one word and `#` zero or more.
 */
export function matchesTopic(pattern: string, routingKey: string): boolean {
  return match(pattern.split('.'), 0, routingKey.split('.'), 0)
}

function match(pattern: string[], p: number, key: string[], k: number): boolean {
  while (p < pattern.length) {
    const word = pattern[p]
    if (word === '#') {
      // '#' swallows zero or more words: try every split point.
      for (let skip = k; skip <= key.length; skip++) if (match(pattern, p + 1, key, skip)) return true
      return false
    }
    if (k >= key.length || (word !== '*' && word !== key[k])) return false
    p += 1
    k += 1
  }
  return k === key.length
}

/** True when the key contains topic wildcards. */
export function isPattern(key: string): boolean {
  return key.split('.').some((word) => word === '*' || word === '#')
}

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
