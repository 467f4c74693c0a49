// The RAM broker of `pnpm bench --broker ram`, run by scripts/bench.mjs:
//   node bench/dist/tools/broker.js start   starts it and prints its AMQP URL (the node keeps running)
//   node bench/dist/tools/broker.js stop    stops it and removes its data
import { RAM_NODE, startRamNode, stopRamNode } from '../lib/brokers.js'

const command = process.argv[2]
if (command === 'start') {
  const url = await startRamNode()
  process.stdout.write(`${JSON.stringify({ url, node: RAM_NODE.name, dir: RAM_NODE.dir })}\n`)
} else if (command === 'stop') {
  await stopRamNode()
} else {
  console.error('usage: node bench/dist/tools/broker.js start|stop')
  process.exit(2)
}
