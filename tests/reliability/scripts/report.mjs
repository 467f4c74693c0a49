// Writes docs/reliability.md from this run of the suites only: the figures its tests wrote
// (.vitest/figures.ndjson, deleted at the start of every run by test/support/run-setup.ts) and
// the outcome of each test in its vitest results (.vitest/results.json). A row is "pass" only when
// the test that measured it passed; a run with any failed test is marked FAILED at the top.
// `pnpm test && pnpm report`, or `pnpm report` after a failed `pnpm test` to record the failure.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const figuresFile = fileURLToPath(new URL('../.vitest/figures.ndjson', import.meta.url))
const resultsFile = fileURLToPath(new URL('../.vitest/results.json', import.meta.url))
const target = fileURLToPath(new URL('../../../docs/reliability.md', import.meta.url))
if (!existsSync(resultsFile)) {
  console.error(`no ${resultsFile}: run pnpm test first`)
  process.exit(1)
}
const results = JSON.parse(readFileSync(resultsFile, 'utf8'))
const rows = existsSync(figuresFile)
  ? readFileSync(figuresFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((row) => Date.parse(row.measuredAt) >= results.startTime)
      .sort((a, b) => a.id.localeCompare(b.id))
  : []

const tests = results.testResults.flatMap((file) =>
  file.assertionResults.map((a) => ({
    file: file.name,
    fileStatus: file.status,
    name: [...a.ancestorTitles, a.title].join(' > '),
    status: a.status,
  })),
)
const failedTests = tests.filter((t) => t.status === 'failed')
const crashedFiles = results.testResults.filter(
  (f) => f.status === 'failed' && f.assertionResults.every((a) => a.status !== 'failed'),
)
const failed = !results.success || failedTests.length > 0 || crashedFiles.length > 0 || rows.length === 0
/** A row passes when every test it names ran in this run and passed, and its file did not fail around them. */
const outcome = (row) => {
  const mine = tests.filter(
    (t) =>
      t.file === row.file &&
      (t.name === row.test || row.test?.endsWith(` > ${t.name}`) || t.name.startsWith(`${row.test} > `)),
  )
  return mine.length > 0 && mine.every((t) => t.status === 'passed' && t.fileStatus === 'passed') ? 'pass' : 'FAILED'
}

let rabbitmq = 'RabbitMQ'
try {
  rabbitmq = `RabbitMQ ${execFileSync('rabbitmqctl', ['-q', 'version'], { encoding: 'utf8' }).trim()}`
} catch {
  // not on this machine: the version stays unnamed
}
const number = (n) => (n === null || n === undefined ? '—' : n.toLocaleString('en-US'))
const cell = (text) => String(text).replaceAll('|', '\\|')
const table = [
  '| scenario | messages | lost | duplicates | bound | in hand | resume time | outcome |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...rows.map(
    (r) =>
      `| ${cell(r.scenario)} | ${number(r.messages)} | ${number(r.lost)} | ${number(r.duplicates)} | ${number(r.bound)} | ${number(r.inHand)} | ${r.resumeMs === null ? '—' : `${number(r.resumeMs)} ms`} | ${outcome(r)} |`,
  ),
]
const notes = rows.map((r) => `- **${cell(r.scenario)}**: ${r.notes ?? ''}`)
const verdict = failed
  ? `**This run FAILED**: ${[...failedTests.map((t) => t.name), ...crashedFiles.map((f) => `${f.name} (did not run to the end)`)].map(cell).join('; ') || 'no figures were written'}.`
  : `Every test of the run passed (${tests.length}).`
const measuredAt = new Date(results.startTime).toISOString()
const environment = { node: process.versions.node, cpus: (await import('node:os')).availableParallelism() }

writeFileSync(
  target,
  `# Reliability

What \`tests/reliability\` (\`@am/reliability-tests\`, run by \`pnpm test\`) measured in its last
run: ${measuredAt.slice(0, 16).replace('T', ' ')} UTC, ${environment.cpus} cores, Node ${environment.node},
${rabbitmq}, while other suites ran beside it. Every figure below comes from that run, and each
outcome is its test's result in it. Regenerate with \`cd tests/reliability && pnpm test; pnpm report\`.

${verdict}

Every test message carries a unique id. A ledger records what the broker confirmed to the
publisher, what the service received and emitted (its confirmed outputs), and what reached the
consumer downstream. **Lost** = confirmed but never delivered downstream; it must be 0.
**Duplicates** are extra copies downstream (at-least-once). Only deliveries in hand at a fault may
repeat: when a connection of the service is lost, the suite notes what it held (**in hand**:
delivered, not yet acked, and among them the ones whose output had already gone out), and every
extra copy must be explained by a cause: an output out before the loss, an ack lost with the
connection (the broker redelivered an input the service had acked), a redelivery to the consumer
downstream after its own connection was lost, an input the producer published again after a
rejected attempt. A copy no cause explains fails the scenario. **Bound** is what the design
allows, derived from the run: per lost service connection, the outputs out plus the acks that may
have been on the wire (prefetch − in hand); per lost downstream connection, its prefetch; one per
repeated publish. **Resume time** is the longest wait, over the scenario's faults, from the fault
(or the node's return) to the first message relayed on the new connection.

${table.join('\n')}

## Details

${notes.join('\n')}

## How the faults are made

- Throwaway RabbitMQ nodes come from \`packages/testkit/tools/rabbitmq-cluster.sh\` through
  \`@am/testkit\`'s \`startCluster\` (one at a time on the machine): one node on 5731 with a TLS
  listener on 5739 (self-signed certificate made with openssl) for fault 2, TLS and the tools'
  output; a 3-node cluster on 5721-5723 for faults 3 and 4. The shared broker on 5672 only ever
  sees this suite close its own connections (by connection name) and set policies on its own queues.
- Throwaway nodes are reached as a user created for the run, with a random password; every log
  line, error (with its causes) and tool output of the scenarios is scanned for it (and for the
  shared broker's \`guest\` password).
- The relay's handler does 30 ms of work before publishing, with prefetch 20 and a backlog of
  2,000 messages, so every fault hits messages in hand; the stream goes on until the faults are over.
  A handler whose connection died does not send its output (the redelivery of its input does), so
  the duplicates left are outputs confirmed just before a fault whose input's ack was lost with it.
- Bad input goes to a running service on the shared broker, each poison message followed at once
  by a good one; dead letters go to an exchange of the test's own through a policy on its queues.
- SIGTERM goes to a service in a child process (\`test/fixtures/shutdown-service.mjs\`, stop bounds
  \`stopTimeoutMs\` and \`closeTimeoutMs\` of 1 s); the hung broker is a TCP relay that stops forwarding.

## What the suites found

- SIGTERM was ignored while the broker hung (connection open, nothing answered): \`stop()\` waited
  for cancel-ok without a limit, and a supervisor that gave up on close-ok dropped the socket in a
  way amqplib did not notice, so its heartbeat timers kept the process alive (~2 min). Fixed in
  \`@am/service\` (f1d0999) and \`@am/bus-core\` (fce197d; the bounded cancel-ok and close-ok waits
  landed in 0844d70). Each step had its own bound, so a hung broker could still cost 20–60 s; since
  8e541a9 \`stop()\` spends one \`stopTimeoutMs\` and \`close()\` one \`closeTimeoutMs\` in all.
- Nearly every message in hand at a connection loss came out twice (116–193 duplicates over ten
  forced closes): the handler of the dead connection published its output on the next one while the
  input was redelivered. Since 08bf95b such outputs are not sent. Scenario 1 now fails when they
  are: each such copy comes from a delivery in hand at the loss whose output had not gone out, which
  no cause explains, and the derived bound counts only the outputs out.
- Ten forced closes 0.5–3 s apart sometimes took 16–20 s to resume: the backoff only reset after a
  connection had stayed up 3 s, so quick faults grew it as a flapping broker would. It resets after
  1 s since c8134a3; scenario 1 asserts each resume under 5 s.
`,
)
console.log(`wrote ${target}`)
