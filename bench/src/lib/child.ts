import { fork } from 'node:child_process'

/**
 * Runs `script` (the scenario's own file) in a child process with `task` in the environment variable
 * `variable`, and resolves with the one message the child sends back. A run in a process of its own
 * inherits neither the heap nor the JIT state of the runs before it.
 */
export function runInChild<T>(script: string, variable: string, task: unknown, execArgv: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    // BENCH_NODE_ARGS: Node flags for every child run, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (a V8
    // CPU profile per run, for Chrome's DevTools) or "--trace-gc" (not allowed in NODE_OPTIONS).
    const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []
    const child = fork(script, [], {
      execArgv: [...execArgv, ...extra],
      env: { ...process.env, [variable]: JSON.stringify(task) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let report: T | undefined
    child.on('message', (message) => {
      report = message as T
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (report !== undefined && code === 0) resolve(report)
      else reject(new Error(`the child run of ${script} exited with code ${code}`))
    })
  })
}

/** The task given to this process by `runInChild`, if it is such a child. */
export function childTask<T>(variable: string): T | undefined {
  const value = process.env[variable]
  return value === undefined ? undefined : (JSON.parse(value) as T)
}
