import { connect } from 'amqplib'
import { onTestFinished } from 'vitest'

/** A raw amqplib publisher of GELF logs on `logs`, as an eventail service sends them. */
export async function gelfPublisher(url: string) {
  const connection = await connect(url)
  onTestFinished(() => connection.close())
  const channel = await connection.createChannel()
  await channel.assertExchange('logs', 'topic', { durable: true })
  return {
    log(service: string, level: number, short: string, extra: Record<string, unknown> = {}): void {
      const names = ['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG']
      const body = {
        version: '1.1',
        short_message: short,
        full_message: '',
        level,
        _levelname: names[level],
        host: `${service}@test`,
        timestamp: Date.now() / 1000,
        _conversation_id: '',
        _logical_service: service,
        _worker_pid: process.pid,
        ...extra,
      }
      channel.publish('logs', `${service}.${names[level]}`, Buffer.from(JSON.stringify(body)))
    },
    raw(routingKey: string, body: string): void {
      channel.publish('logs', routingKey, Buffer.from(body))
    },
  }
}
