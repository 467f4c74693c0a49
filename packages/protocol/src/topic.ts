/** A topic pattern split into words once, reused for every routing key. */
type Compiled = readonly string[] | string

const compiled = new Map<string, Compiled>()
// Patterns come from bindings and handler tables, a bounded set; the cap only guards against a
// caller that matches ever-new patterns.
const MAX_CACHED = 4096

function compile(pattern: string): Compiled {
  let words = compiled.get(pattern)
  if (words === undefined) {
    const split = pattern.split('.')
    // A pattern without wildcards is matched by string equality.
    words = split.some((word) => word === '*' || word === '#') ? split : pattern
    if (compiled.size >= MAX_CACHED) compiled.clear()
    compiled.set(pattern, words)
  }
  return words
}

/**
 * Tells whether an AMQP topic pattern matches a routing key: words are separated by dots, `*`
 * matches exactly one word and `#` zero or more. Patterns are compiled once and cached.
 */
export function matchesTopic(pattern: string, routingKey: string): boolean {
  const words = compile(pattern)
  if (typeof words === 'string') return words === routingKey
  return match(words, 0, routingKey.split('.'), 0)
}

function match(pattern: readonly string[], p: number, key: readonly string[], k: number): boolean {
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
  return typeof compile(key) !== 'string'
}
