import { spawn } from 'node:child_process'

/** What a finished command did, and how long it took. */
export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

/** Options of {@link run}. */
export interface RunOptions {
  cwd: string
  env?: NodeJS.ProcessEnv
  /** Killed (SIGKILL) after this long; the result then has `signal`. */
  timeoutMs?: number
  input?: string
}

/** Runs a command to its end, collecting its output; never rejects on a non-zero exit. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe' })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.stdin.end(options.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started })
    })
  })
}

/** A long-running child: its output so far, a way to wait for a line, and its exit. */
export interface Background {
  readonly output: () => string
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves like `exited`, or rejects after `timeoutMs`. */
  exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Signals the child itself (as a process manager would). */
  kill(signal: NodeJS.Signals): void
  /** SIGKILLs the child's whole process group: cleanup, whatever it spawned. */
  killGroup(): void
}

/** Starts a command in the background (for a service that runs until it is signalled). */
export function background(command: string, args: string[], options: RunOptions): Background {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: 'pipe',
    detached: true, // a process group of its own, for killGroup
  })
  let output = ''
  const waiters = new Set<() => void>()
  const onData = (chunk: string): void => {
    output += chunk
    for (const w of waiters) w()
  }
  child.stdout.setEncoding('utf8').on('data', onData)
  child.stderr.setEncoding('utf8').on('data', onData)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of waiters) w()
      resolve({ code, signal })
    })
  })
  let done = false
  void exited.then(() => {
    done = true
  })
  return {
    output: () => output,
    exited,
    kill: (signal) => {
      if (!done) child.kill(signal)
    },
    killGroup: () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // the group is gone already
      }
    },
    exit: (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${output}`)), timeoutMs)
      })
      return Promise.race([exited, late]).finally(() => clearTimeout(timer))
    },
    waitForOutput: (pattern, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(output)) finish(() => resolve())
          else if (done) finish(() => reject(new Error(`exited before printing ${pattern}:\n${output}`)))
        }
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`))),
          timeoutMs,
        )
        const finish = (settle: () => void): void => {
          clearTimeout(timer)
          waiters.delete(check)
          settle()
        }
        waiters.add(check)
        check()
      }),
  }
}
