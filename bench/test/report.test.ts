import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { barChart, lineChart } from '../src/tools/report.js'

const run = promisify(execFile)

describe('report charts', () => {
  it('draws one point per finite value, a legend entry per series with its last value, and the reference line', () => {
    const svg = lineChart(
      'ratios',
      ['12-01 aaaaaaa', '12-02 bbbbbbb', '12-03 ccccccc'],
      [
        { name: 'relay msgs/s p10', values: [0.9, Number.NaN, 1.2] },
        { name: 'relay msgs/s p100', values: [1.1, 1.05, 1.3] },
      ],
      1,
    )
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.match(/<circle /g)).toHaveLength(5)
    expect(svg).toContain('relay msgs/s p10 (last 1.20×)')
    expect(svg).toContain('relay msgs/s p100 (last 1.30×)')
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(1)
    expect(svg.match(/<polyline /g)).toHaveLength(2)
  })

  it('draws a bar and a whisker per implementation and prefetch, escaping names', () => {
    const svg = barChart('relay', 'msgs/s', [
      { group: 'prefetch 10', name: '@am/service <ours>', median: 4000, min: 3500, max: 4200 },
      { group: 'prefetch 10', name: 'raw amqplib', median: 3600, min: 3100, max: 3900 },
      { group: 'prefetch 100', name: '@am/service <ours>', median: 6000, min: 5600, max: 7300 },
      { group: 'prefetch 100', name: 'raw amqplib', median: 5400, min: 4400, max: 6100 },
    ])
    expect(svg.match(/<rect [^>]*opacity="0.85"/g)).toHaveLength(4)
    expect(svg).toContain('@am/service &lt;ours&gt;')
    expect(svg).not.toContain('<ours>')
    for (const label of ['prefetch 10', 'prefetch 100', '4,000', '5,400']) expect(svg).toContain(label)
  })
})

describe('--broker ram', () => {
  it('starts a throwaway node with its storage in RAM, runs the scenario against it, and stops it', async () => {
    const script = fileURLToPath(new URL('../../scripts/bench.mjs', import.meta.url))
    const { stdout } = await run(process.execPath, [script, '--quick', '--broker', 'ram', 'startup'], {
      timeout: 170_000,
    })
    expect(stdout).toMatch(/RAM broker am-bench-ram@localhost ready on amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5850\//)
    expect(stdout).toContain('broker: throwaway node with its storage in RAM (tmpfs), amqp://guest:***@127.0.0.1:5850/')
    expect(stdout).toContain('--quick: results not saved')
    expect(stdout).not.toContain('guest:guest')
  }, 180_000)
})
