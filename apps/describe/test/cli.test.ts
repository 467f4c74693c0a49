import { fileURLToPath } from 'node:url'
import { runBinary } from '@am/cli-kit/testing'
import { Parser } from '@asyncapi/parser'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { version } from '../package.json'

const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
/** The parts of a document the tests read. */
interface Doc {
  info: { title: string; version: string }
  operations: Record<string, unknown>
  components: { messages: Record<string, { payload: { required: string[] } }> }
}

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

async function errorsOf(document: unknown): Promise<string[]> {
  const { diagnostics } = await new Parser().parse(JSON.stringify(document))
  return diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('/')}: ${d.message}`)
}

describe('am-describe (built binary)', () => {
  it('prints the YAML AsyncAPI document of the service a module exports, valid for @asyncapi/parser', async () => {
    const run = await runBinary(bin, [fixture('welcome.mjs')])
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
    const document = parse(run.stdout) as Doc
    expect(await errorsOf(document)).toEqual([])
    expect(document.info.title).toBe('welcome')
    // The nearest package.json is this tool's own.
    expect(document.info.version).toBe(version)
    expect(Object.keys(document.operations)).toEqual([
      'receive.event.user.SignedUp',
      'send.event.welcome.Sent',
      'send.log.welcome',
    ])
    expect(document.components.messages['event.welcome.Sent']?.payload.required).toEqual(['userId', 'text'])
  })

  it('prints JSON with --format json, picks an export with --export, takes --doc-version', async () => {
    const run = await runBinary(bin, [
      fixture('two.mjs'),
      '--format',
      'json',
      '--export',
      'Alpha',
      '--doc-version',
      '2.0.0',
    ])
    expect(run.code).toBe(0)
    const document = JSON.parse(run.stdout) as Doc
    expect([document.info.title, document.info.version]).toEqual(['alpha', '2.0.0'])
    expect(await errorsOf(document)).toEqual([])
    const instance = await runBinary(bin, [fixture('two.mjs'), '--export', 'beta', '--format', 'json'])
    expect(JSON.parse(instance.stdout).info.title).toBe('beta')
  })

  it('exits 64 when several services are exported and none is chosen, or an option is wrong', async () => {
    const several = await runBinary(bin, [fixture('two.mjs')])
    expect(several.code).toBe(64)
    expect(several.stderr).toContain('exports several services (Alpha, beta): choose one with --export')
    expect(several.stdout).toBe('')
    const format = await runBinary(bin, [fixture('welcome.mjs'), '--format', 'xml'])
    expect([format.code, format.stderr.includes("--format must be yaml or json, got 'xml'")]).toEqual([64, true])
    const unknown = await runBinary(bin, [fixture('two.mjs'), '--export', 'Gamma'])
    expect(unknown.code).toBe(64)
    expect(unknown.stderr).toContain("has no service export 'Gamma' (service exports: Alpha, beta)")
  })

  it('exits 1 for a module without a service, or that cannot be loaded', async () => {
    const none = await runBinary(bin, [fixture('none.mjs')])
    expect([none.code, none.stderr.includes('exports no service (a Service subclass or instance)')]).toEqual([1, true])
    const missing = await runBinary(bin, [fixture('missing.mjs')])
    expect([missing.code, missing.stderr.includes('cannot load')]).toEqual([1, true])
  })

  it('prints the bare version, and a help with the sections every tool has (no broker URL: it connects to nothing)', async () => {
    const v = await runBinary(bin, ['--version'])
    expect([v.code, v.stdout]).toEqual([0, `${version}\n`])
    const help = await runBinary(bin, ['--help'])
    expect(help.code).toBe(0)
    const titles = help.stdout.split('\n').filter((line) => /^[A-Z][A-Za-z ]+:$/.test(line))
    expect(titles).toEqual(['Usage:', 'Options:', 'Examples:', 'Exit codes:'])
    expect(help.stdout.split('\n')[0]).toMatch(/^am-describe — print the AsyncAPI 3\.0 document of a service/)
    expect(help.stdout).toMatch(/^ {2}--format <format> {2,}yaml or json \(default: yaml\)$/m)
    expect(help.stdout).toMatch(/^ {2}\$ am-describe dist\/welcome\.js > asyncapi\.yaml$/m)
    expect(help.stdout.split('\n').filter((line) => line !== line.trimEnd())).toEqual([])
  })
})
