// Writes docs/reliability.md from the figures the last run of the suites measured
// (.vitest/reliability.json, written by test/support/figures.ts): `pnpm report` after `pnpm test`.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const figures = fileURLToPath(new URL('../.vitest/reliability.json', import.meta.url))
const target = fileURLToPath(new URL('../../../docs/reliability.md', import.meta.url))
const { measuredAt, environment, rows } = JSON.parse(readFileSync(figures, 'utf8'))

let rabbitmq = 'RabbitMQ'
try {
  rabbitmq = `RabbitMQ ${execFileSync('rabbitmqctl', ['-q', 'version'], { encoding: 'utf8' }).trim()}`
} catch {
  // not on this machine: the version stays unnamed
}
const number = (n) => n.toLocaleString('en-US')
const cell = (text) => String(text).replaceAll('|', '\\|')
const table = [
  '| scenario | messages | lost | duplicates | resume time | outcome |',
  '| --- | ---: | ---: | ---: | ---: | --- |',
  ...rows.map(
    (r) =>
      `| ${cell(r.scenario)} | ${number(r.messages)} | ${r.lost} | ${number(r.duplicates)} | ${r.resumeMs === null ? '—' : `${number(r.resumeMs)} ms`} | ${r.outcome} |`,
  ),
]
const notes = rows.map((r) => `- **${cell(r.scenario)}**: ${r.notes ?? ''}`)

writeFileSync(
  target,
  `# Reliability

What \`tests/reliability\` (\`@am/reliability-tests\`, run by \`pnpm test\`) measured in its last
recorded run: ${measuredAt.slice(0, 16).replace('T', ' ')} UTC, ${environment.cpus} cores, Node ${environment.node},
${rabbitmq}, while other suites ran beside it. Regenerate with
\`cd tests/reliability && pnpm test && pnpm report\`.

Every test message carries a unique id. A ledger records what the broker confirmed to the
publisher, what the service received and emitted (its confirmed outputs), and what reached the
consumer downstream. **Lost** = confirmed but never delivered downstream; it must be 0.
**Duplicates** are extra copies downstream (at-least-once); each scenario checks them against the
in-flight window at its faults (prefetch of the service and of the downstream consumer, publisher
confirm window). **Resume time** is the longest wait, over the scenario's faults, from the fault
(or the node's return) to the first message relayed on the new connection.

${table.join('\n')}

## Details

${notes.join('\n')}

## How the faults are made

- Throwaway RabbitMQ nodes come from \`../shared/tools/rabbitmq-cluster.sh\` through
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
  input was redelivered. Since 08bf95b such outputs are not sent (0–15 duplicates).
- Ten forced closes 0.5–3 s apart sometimes took 16–20 s to resume: the backoff only reset after a
  connection had stayed up 3 s, so quick faults grew it as a flapping broker would. It resets after
  1 s since c8134a3 (resume 94–140 ms).
`,
)
console.log(`wrote ${target}`)
