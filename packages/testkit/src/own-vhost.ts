import type { TestProject } from 'vitest/node'
import { uniqueName } from './names.js'
import { rabbitmqctl } from './rabbitmqctl.js'
import './index.js'

/**
 * Vitest globalSetup, listed after `@am/testkit/global-setup`: moves the package's tests to a vhost
 * of their own on the same broker (named after the package directory), deleted afterwards, by
 * providing its URL as `amqpUrl`. For suites that use fixed names, or that watch every message on
 * an exchange (`#` bindings) and so must not see the traffic of the other suites running at the
 * same time on the shared test vhost. Without a local `rabbitmqctl` (a container broker), the test
 * vhost stays.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const url = new URL(project.getProvidedContext().amqpUrl)
  const name = project.config.root.split('/').filter(Boolean).at(-1) ?? 'suite'
  const vhost = uniqueName(`am-${name}`)
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
