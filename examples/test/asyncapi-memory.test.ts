// docs/asyncapi holds the AsyncAPI documents of the examples' services: they are what `describe()`
// (and so `am-describe`) gives today, and valid for the official parser.
import { readFile } from 'node:fs/promises'
import type { ServiceOptions } from '@am/service'
import { Parser } from '@asyncapi/parser'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { version } from '../package.json'
import { Ping, Pong } from '../src/ping-pong.js'
import { Relay } from '../src/relay.js'
import { Welcome } from '../src/welcome.js'

const options: ServiceOptions = { urls: 'amqp://describe.invalid', handleSignals: false }
const DOCUMENTS = [
  ['welcome.yaml', () => new Welcome(options)],
  ['relay.yaml', () => new Relay(options)],
  ['pong.yaml', () => new Pong(options)],
  ['ping.yaml', () => new Ping(options)],
] as const

describe.each(DOCUMENTS)('docs/asyncapi/%s', (file, make) => {
  it('is what describe() gives, and valid for @asyncapi/parser', async () => {
    const stored = parse(await readFile(new URL(`../../docs/asyncapi/${file}`, import.meta.url), 'utf8')) as unknown
    // Regenerate with: node apps/describe/dist/cli.js examples/dist/<module>.js [--export <Class>] > docs/asyncapi/<file>
    expect(stored).toEqual(make().describe({ version }))
    const { diagnostics } = await new Parser().parse(JSON.stringify(stored))
    expect(diagnostics.filter((d) => d.severity === 0).map((d) => d.message)).toEqual([])
  })
})
