// Scenario `cluster`: the relay on a throwaway 3-node loopback cluster (packages/testkit/tools/
// rabbitmq-cluster.sh, AMQP ports 5801–5803) with **quorum** queues (input and sink, 3 replicas).
// 1. Steady: ours (a `Service` with `queueType: 'quorum'`, given the three nodes' URLs) next to raw
//    amqplib (one URL), both connected to the node holding the input queue's leader; msgs/s and
//    client CPU per message, interleaved rounds, as the `relay` scenario measures them.
// 2. Leader kill: ours again, and the node holding the input queue's leader (the node it is
//    connected to) is killed (SIGKILL of its Erlang VM) once 40% of the messages are relayed.
//    Throughput before and after, time from the kill to the first message relayed after it, and —
//    every pre-loaded event carries a sequence number — messages lost (must be 0) and duplicated
//    (redelivered after the kill: at-least-once) found by reading the whole sink. Raw amqplib is
//    not run here: its recovery knows one URL, and that node is the one killed.
// Each run happens in a child process; the parent owns the cluster, pre-loads, kills and checks.
import { fork } from 'node:child_process'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { encode } from '@am/codec'
import { connect } from 'amqplib'
import { Decoder } from 'cbor-x'
import { eventProperties, uniqueName } from './lib/amqp.js'
import { type BenchCluster, brokerKind, startBenchCluster } from './lib/brokers.js'
import { childTask } from './lib/child.js'
import {
  environment,
  formatRatio,
  formatSummary,
  formatTable,
  parseOptions,
  type Summary,
  saveResults,
  summarize,
  summarizeThroughput,
} from './lib/harness.js'
import { makePayload } from './lib/payload.js'
import { OURS, planRelay, RAW, type RelayPlan, relayWithAmqplib, relayWithService } from './lib/relays.js'

const options = parseOptions()
const settings = options.quick
  ? // 3,000 events still to relay at the kill: under load, the kill (a script run by the parent)
    // can take long enough for a few hundred to be relayed before it.
    { rounds: 1, messages: 400, warmup: 100, prefetch: 100, killTrials: 1, killMessages: 4000, killAfter: 0.25 }
  : {
      rounds: options.rounds ?? 3,
      messages: 20_000,
      warmup: 2_000,
      prefetch: 100,
      killTrials: options.rounds ?? 2,
      killMessages: 20_000,
      killAfter: 0.4,
    }
const BASE_PORT = 5800
const IMPLEMENTATIONS = [OURS, RAW]
const CHILD = 'BENCH_CLUSTER_CHILD'
const EXCHANGE = 'events'
const QUORUM = { 'x-queue-type': 'quorum' }

interface ChildTask {
  implementation: string
  plan: RelayPlan
  prefetch: number
  warmup: number
  /** Ours: every node, the leader's first; raw: the leader's node. */
  urls: string[]
  /** Ask the parent to kill the leader's node after this many relayed messages (0: no kill). */
  killAt: number
}

/** What one run gives (times in ms, from the child's clock). */
interface Run {
  msgsPerSecond: number
  cpuUsPerMessage: number
  /** Messages relayed (publish confirmed), duplicates included. */
  relayed: number
  /** Leader-kill runs only. */
  beforeMsgsPerSecond?: number
  afterMsgsPerSecond?: number
  resumeMs?: number
}

async function child(task: ChildTask): Promise<void> {
  const { implementation, plan, prefetch, warmup, urls, killAt } = task
  const times: number[] = []
  let cpuAtStart: NodeJS.CpuUsage = { user: 0, system: 0 }
  let killedAt = 0
  let killIndex = -1
  process.on('message', (message: { type: 'killed' }) => {
    if (message.type === 'killed') {
      killedAt = performance.now()
      killIndex = times.length
    }
  })
  const hooks = {
    first() {},
    relayed(count: number) {
      times.push(performance.now())
      if (count === warmup) cpuAtStart = process.cpuUsage()
      if (killAt > 0 && count === killAt) process.send?.({ type: 'kill' })
    },
  }
  const endless = { ...plan, messages: Number.MAX_SAFE_INTEGER }
  const note = (level: string, args: unknown[]): void => {
    const since = killedAt ? `+${(performance.now() - killedAt).toFixed(0)} ms after the kill` : 'before the kill'
    console.error(`    [relay ${level}, ${since}, ${times.length} relayed] ${args.map(String).join(' ')}`)
  }
  const relay =
    implementation === RAW
      ? await relayWithAmqplib(endless, prefetch, hooks, urls[0])
      : await relayWithService(endless, prefetch, hooks, true, {
          urls,
          queueType: 'quorum',
          // Leader-kill runs: what the framework says, and its states, on stderr (ms since the kill).
          ...(killAt > 0
            ? {
                logger: {
                  debug: () => undefined,
                  info: (...args: unknown[]) => note('info', args),
                  warn: (...args: unknown[]) => note('warn', args),
                  error: (...args: unknown[]) => note('error', args),
                },
                onState: (state: string) => note('state', [state]),
              }
            : {}),
        })
  // Done once every message is relayed and nothing more came for a while (redeliveries after a
  // kill come late); given up when nothing comes for 60 s (messages lost).
  const idleMs = killAt > 0 ? 3000 : 300
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const last = times.at(-1) ?? 0
      const quiet = performance.now() - last
      if ((times.length >= plan.messages && quiet > idleMs) || (last > 0 && quiet > 60_000)) {
        clearInterval(timer)
        resolve()
      }
    }, 100)
  })
  const cpu = process.cpuUsage(cpuAtStart)
  const end = times.at(-1) ?? 0
  const start = times[warmup - 1] ?? 0
  const run: Run = {
    msgsPerSecond: (times.length - warmup) / ((end - start) / 1000),
    cpuUsPerMessage: (cpu.user + cpu.system) / (times.length - warmup),
    relayed: times.length,
  }
  if (killAt > 0 && killIndex >= 0) {
    const killTime = times[killIndex - 1] ?? killedAt
    run.beforeMsgsPerSecond = (killIndex - warmup) / ((killTime - start) / 1000)
    const firstAfter = times[killIndex]
    if (firstAfter !== undefined) {
      run.resumeMs = firstAfter - killedAt
      run.afterMsgsPerSecond = (times.length - 1 - killIndex) / ((end - firstAfter) / 1000)
    }
  }
  await relay.close().catch(() => undefined)
  process.send?.({ type: 'report', run }, () => process.disconnect())
}

async function withChannelAt<T>(url: string, work: (channel: import('amqplib').Channel) => Promise<T>): Promise<T> {
  const connection = await connect(url, { clientProperties: { connection_name: uniqueName('bench-cluster-admin') } })
  try {
    return await work(await connection.createChannel())
  } finally {
    await connection.close()
  }
}

/** Declares the quorum input and sink queues from `url` (their leader: that node) and pre-loads numbered events. */
async function prepare(url: string, plan: RelayPlan): Promise<void> {
  await withChannelAt(url, async (channel) => {
    await channel.assertExchange(EXCHANGE, 'topic', { durable: true })
    for (const [queue, key] of [
      [plan.input, plan.inKey],
      [plan.sink, plan.outKey],
    ] as const) {
      await channel.assertQueue(queue, { durable: true, arguments: QUORUM })
      await channel.bindQueue(queue, EXCHANGE, key)
    }
  })
  const connection = await connect(url, { clientProperties: { connection_name: uniqueName('bench-cluster-preload') } })
  try {
    const channel = await connection.createConfirmChannel()
    const payload = makePayload(4)
    const properties = eventProperties(uniqueName('bench-conversation'))
    for (let seq = 0; seq < plan.messages; seq++) {
      if (!channel.publish(EXCHANGE, plan.inKey, encode({ ...payload, seq }), properties)) {
        await new Promise((resolve) => channel.once('drain', resolve))
      }
      if (seq % 2000 === 1999) await channel.waitForConfirms()
    }
    await channel.waitForConfirms()
  } finally {
    await connection.close()
  }
}

/** Reads (and empties) a queue of numbered events: how many messages, which sequence numbers. */
async function readSeqs(url: string, sink: string): Promise<{ total: number; seqs: Set<number> }> {
  const decoder = new Decoder({ useRecords: false })
  const connection = await connect(url, { clientProperties: { connection_name: uniqueName('bench-cluster-sink') } })
  try {
    const channel = await connection.createChannel()
    const { messageCount } = await channel.checkQueue(sink)
    const seen = new Set<number>()
    let total = 0
    if (messageCount > 0) {
      await channel.prefetch(1000)
      await new Promise<void>((resolve) => {
        void channel.consume(sink, (message) => {
          if (!message) return
          total += 1
          seen.add((decoder.decode(message.content) as { seq: number }).seq)
          channel.ack(message)
          if (total === messageCount) resolve()
        })
      })
    }
    return { total, seqs: seen }
  } finally {
    await connection.close()
  }
}

async function deleteQueuesAt(url: string, queues: string[]): Promise<void> {
  await withChannelAt(url, async (channel) => {
    for (const queue of queues) await channel.deleteQueue(queue)
  })
}

/** The index (1-based) of the node holding `queue`'s leader, as `rabbitmqctl list_queues` says. */
async function leaderOf(cluster: BenchCluster, queue: string, askIndex: number): Promise<number> {
  const out = await cluster.ctl(askIndex, 'list_queues', '-p', '/', 'name', 'leader', '--no-table-headers')
  const line = out.split('\n').find((l) => l.split('\t')[0] === queue)
  const leader = line?.split('\t')[1]?.trim()
  const index = cluster.nodes.indexOf(leader ?? '')
  if (index < 0) throw new Error(`no leader found for ${queue}: ${line ?? 'queue not listed'}`)
  return index + 1
}

function runChild(task: ChildTask, onKill: () => Promise<void>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [CHILD]: JSON.stringify(task) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let run: Run | undefined
    c.on('message', (message: { type: 'kill' } | { type: 'report'; run: Run }) => {
      if (message.type === 'kill') {
        onKill().then(
          () => c.send({ type: 'killed' }),
          (error: unknown) => {
            c.kill()
            reject(error)
          },
        )
      } else run = message.run
    })
    c.on('error', reject)
    c.on('exit', (code) => {
      if (code === 0 && run) resolve(run)
      else reject(new Error(`the cluster relay child exited with code ${code}`))
    })
  })
}

interface KillTrial extends Run {
  /** Sequence numbers found neither in the sink nor in the input. */
  lost: number
  /** Still in the input queue at the end (the relay did not resume or finish within 60 s of silence). */
  unrelayed: number
  duplicated: number
  killedNode: string
}

const task = childTask<ChildTask>(CHILD)
if (task) await child(task)
else await parent()

async function parent(): Promise<void> {
  const dataRoot = brokerKind() === 'ram' ? '/dev/shm' : tmpdir()
  console.log(
    `broker: a throwaway 3-node RabbitMQ cluster on 127.0.0.1:${BASE_PORT + 1}–${BASE_PORT + 3}, data under ${dataRoot}${brokerKind() === 'ram' ? ' (RAM)' : ' (disk)'}; quorum queues`,
  )
  console.error('  starting the cluster…')
  const startedAt = performance.now()
  const cluster = await startBenchCluster(3, BASE_PORT, dataRoot)
  console.error(`  cluster up in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`)
  // The nodes run detached: stop them (and release the lock) when this process is told to stop.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`  ${signal}: stopping the cluster`)
      void cluster.stop().finally(() => process.exit(130))
    })
  }
  const env = environment()
  try {
    const version = (await cluster.ctl(1, 'version')).trim()
    console.log(
      `cluster: relay of ${settings.messages.toLocaleString('en-US')} pre-loaded ~1 KiB CBOR events (the first ${settings.warmup.toLocaleString('en-US')} as warm-up) from a quorum queue to a quorum sink, prefetch ${settings.prefetch}, ack after confirm; then ${settings.killTrials} leader-kill trial(s) of ${settings.killMessages.toLocaleString('en-US')} events, kill after ${settings.killAfter * 100}%`,
    )
    console.log(
      `${env.node}, ${env.platform}-${env.arch}, ${env.cpuCount} × ${env.cpuModel}, RabbitMQ ${version}; ${settings.rounds} interleaved round(s)${options.quick ? ' (--quick: not a measurement)' : ''}\n`,
    )

    // 1. Steady.
    const runs: Record<string, Run[]> = { [OURS]: [], [RAW]: [] }
    for (let round = 0; round < settings.rounds; round++) {
      for (const implementation of round % 2 === 0 ? IMPLEMENTATIONS : [...IMPLEMENTATIONS].reverse()) {
        const plan = planRelay(implementation === RAW ? 'bench-raw-quorum' : 'bench-quorum', settings.messages)
        const first = cluster.urls[0] as string
        await prepare(first, plan)
        const leader = await leaderOf(cluster, plan.input, 1)
        const leaderUrl = cluster.urls[leader - 1] as string
        const urls = [leaderUrl, ...cluster.urls.filter((u) => u !== leaderUrl)]
        const run = await runChild(
          { implementation, plan, prefetch: settings.prefetch, warmup: settings.warmup, urls, killAt: 0 },
          async () => {},
        )
        const sink = await readSeqs(first, plan.sink)
        await deleteQueuesAt(first, [plan.input, plan.sink])
        if (sink.seqs.size !== plan.messages)
          throw new Error(`${implementation}: ${sink.seqs.size} of ${plan.messages} relayed`)
        runs[implementation]?.push(run)
        console.error(
          `  round ${round + 1}, ${implementation}: ${Math.round(run.msgsPerSecond)} msgs/s, ${run.cpuUsPerMessage.toFixed(1)} µs CPU/msg`,
        )
      }
    }

    // 2. Leader kill (ours).
    const kills: KillTrial[] = []
    for (let trial = 0; trial < settings.killTrials; trial++) {
      const plan = planRelay('bench-quorum-kill', settings.killMessages)
      await prepare(cluster.urls[0] as string, plan)
      const leader = await leaderOf(cluster, plan.input, 1)
      const leaderUrl = cluster.urls[leader - 1] as string
      const survivor = cluster.urls.find((u) => u !== leaderUrl) as string
      const survivorIndex = cluster.urls.indexOf(survivor) + 1
      const urls = [leaderUrl, ...cluster.urls.filter((u) => u !== leaderUrl)]
      const killAt = Math.round(settings.killMessages * settings.killAfter)
      const run = await runChild(
        { implementation: OURS, plan, prefetch: settings.prefetch, warmup: settings.warmup, urls, killAt },
        () => cluster.killNode(leader),
      )
      const newLeader = await leaderOf(cluster, plan.input, survivorIndex).catch(() => 0)
      const sink = await readSeqs(survivor, plan.sink)
      // What the relay left in the input (it stopped before the end) is not lost: counted apart.
      const left = await readSeqs(survivor, plan.input)
      await deleteQueuesAt(survivor, [plan.input, plan.sink])
      const found = new Set([...sink.seqs, ...left.seqs])
      const result: KillTrial = {
        ...run,
        lost: plan.messages - found.size,
        duplicated: sink.total - sink.seqs.size,
        unrelayed: [...left.seqs].filter((seq) => !sink.seqs.has(seq)).length,
        killedNode: cluster.nodes[leader - 1] as string,
      }
      kills.push(result)
      console.error(
        `  leader kill ${trial + 1}: killed ${result.killedNode} (new leader ${cluster.nodes[newLeader - 1] ?? '?'}), before ${Math.round(run.beforeMsgsPerSecond ?? 0)} msgs/s, resumed after ${(run.resumeMs ?? Number.NaN).toFixed(0)} ms, after ${Math.round(run.afterMsgsPerSecond ?? 0)} msgs/s, lost ${result.lost}, duplicated ${result.duplicated}, left unrelayed ${result.unrelayed}`,
      )
      // Back to three nodes for the next trial.
      if (trial < settings.killTrials - 1) await cluster.startNode(leader)
    }

    // Tables.
    const raw = runs[RAW] ?? []
    const rows = IMPLEMENTATIONS.map((implementation) => ({
      implementation,
      ...summarizeThroughput(runs[implementation] ?? [], implementation === RAW ? undefined : raw),
    }))
    console.log('steady, quorum queues on 3 nodes:')
    console.log(
      formatTable(
        ['implementation', 'msgs/s median (min–max)', 'vs raw', 'CPU µs/msg median (min–max)', 'vs raw'],
        rows.map((row) => [
          row.implementation,
          formatSummary(row.msgsPerSecond),
          formatRatio(row.throughputRatio),
          formatSummary(row.cpuUsPerMessage, 1),
          formatRatio(row.cpuRatio),
        ]),
        [1, 2, 3, 4],
      ),
    )
    console.log(`\nleader kill (${OURS}, connected to the leader's node; SIGKILL of that node):`)
    const cell = (summary: Summary, digits?: number): string =>
      Number.isFinite(summary.median) ? formatSummary(summary, digits) : 'n/a'
    const killSummary = {
      before: summarize(kills.map((k) => k.beforeMsgsPerSecond ?? Number.NaN)),
      after: summarize(kills.map((k) => k.afterMsgsPerSecond ?? Number.NaN)),
      resumeMs: summarize(kills.map((k) => k.resumeMs ?? Number.NaN)),
      lost: kills.reduce((sum, k) => sum + k.lost, 0),
      duplicated: summarize(kills.map((k) => k.duplicated)),
      unrelayed: kills.reduce((sum, k) => sum + k.unrelayed, 0),
    }
    console.log(
      formatTable(
        ['trial', 'msgs/s before', 'resume ms', 'msgs/s after', 'lost', 'duplicated', 'unrelayed'],
        [
          ...kills.map((k, i) => [
            String(i + 1),
            Math.round(k.beforeMsgsPerSecond ?? Number.NaN).toLocaleString('en-US'),
            (k.resumeMs ?? Number.NaN).toFixed(0),
            Math.round(k.afterMsgsPerSecond ?? Number.NaN).toLocaleString('en-US'),
            String(k.lost),
            String(k.duplicated),
            String(k.unrelayed),
          ]),
          [
            'median',
            cell(killSummary.before),
            cell(killSummary.resumeMs, 0),
            cell(killSummary.after),
            `${killSummary.lost} in all`,
            cell(killSummary.duplicated, 0),
            `${killSummary.unrelayed} in all`,
          ],
        ],
        [1, 2, 3, 4, 5, 6],
      ),
    )
    console.log(
      `\nresume: from the kill to the first message relayed after it; lost: pre-loaded sequence numbers missing from the sink (target 0${killSummary.lost === 0 ? '' : ' MISSED'}); duplicated: sink messages beyond one per sequence number; unrelayed: left in the input queue when the relay gave up (60 s without a message${killSummary.unrelayed === 0 ? '' : ': it did not resume'})`,
    )
    const headline: Record<string, number> = {}
    const ours = rows.find((row) => row.implementation === OURS)
    if (ours?.throughputRatio) headline['cluster msgs/s'] = ours.throughputRatio.median
    if (ours?.cpuRatio) headline['cluster CPU/msg'] = ours.cpuRatio.median
    if (options.quick) console.log('--quick: results not saved')
    else {
      const file = saveResults(
        new URL('../results/latest.json', import.meta.url),
        'cluster',
        {
          date: new Date().toISOString(),
          environment: { ...env, cluster: version, dataRoot, loadAverageAtEnd: environment().loadAverage },
          settings,
          runs,
          summary: rows,
          kills,
          killSummary,
        },
        headline,
      )
      console.log(`results saved to ${file}`)
    }
  } finally {
    await cluster.stop()
  }
}
