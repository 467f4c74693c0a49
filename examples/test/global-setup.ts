import { rabbitmqctl, uniqueName } from '@am/testkit'
import type { TestProject } from 'vitest/node'

/**
 * Runs after `@am/testkit/global-setup`: moves this package's tests to a vhost of their own on the
 * same broker, deleted afterwards, by providing its URL as `amqpUrl`. The examples use eventail's
 * fixed names (pong, ping…) and broadcast configurations, which other packages' suites on the
 * shared test vhost use too. Without a local `rabbitmqctl` (a container broker), the test vhost stays.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const url = new URL(project.getProvidedContext().amqpUrl)
  const vhost = uniqueName('am-examples')
  try {
    await rabbitmqctl('add_vhost', vhost)
    await rabbitmqctl('set_permissions', '-p', vhost, decodeURIComponent(url.username) || 'guest', '.*', '.*', '.*')
  } catch {
    return undefined
  }
  url.pathname = `/${encodeURIComponent(vhost)}`
  project.provide('amqpUrl', url.toString())
  return async () => {
    await rabbitmqctl('delete_vhost', vhost).catch(() => undefined)
  }
}
