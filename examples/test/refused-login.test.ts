import { ConnectionError } from '@am/bus-core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Pong } from '../src/ping-pong.js'
import { url } from './helpers.js'

describe('a service whose login is refused', () => {
  it('stops with the refusal instead of retrying forever', async () => {
    const bad = new URL(url)
    bad.password = 'wrong-password'
    const pong = new Pong({ urls: bad.href, handleSignals: false, stopTimeoutMs: 2_000 })
    onTestFinished(() => pong.stop())
    const failure = await pong.start().then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(ConnectionError)
    expect({
      code: (failure as ConnectionError).code,
      failure: (failure as ConnectionError).failure,
      message: (failure as Error).message,
      state: pong.state,
    }).toEqual({
      code: 'CONNECTION_FAILED',
      failure: 'login',
      message: `the broker at ${bad.href.replace(':wrong-password@', ':***@')} refused the login of user '${bad.username}' (ACCESS_REFUSED): fix the user or password in the URL`,
      state: 'stopped',
    })
  })
})
