import type { TestProject } from 'vitest/node'
import { startBroker } from '../../../testcontainers.config.js'
import './index.js'

/** Vitest globalSetup: finds or starts a broker once per package run and provides its URL as `amqpUrl`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const broker = await startBroker()
  project.provide('amqpUrl', broker.url)
  return () => broker.stop()
}
