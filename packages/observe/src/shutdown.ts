type ShutdownFn = () => Promise<void>

const fns: ShutdownFn[] = []
let installed = false
let shuttingDown = false

export interface ShutdownOptions {
  /** After this long the process exits with code 1 even if a step still runs. Default 30 s. */
  timeoutMs?: number
  /** Where progress and failures are reported. Default stderr. */
  log?: (line: string) => void
}

let options: Required<ShutdownOptions> = {
  timeoutMs: 30_000,
  log: (line) => process.stderr.write(`${line}\n`),
}

export function configureShutdown(opts: ShutdownOptions): void {
  options = { ...options, ...opts }
}

/**
 * Registers a step to run on SIGTERM/SIGINT. Steps run one after another in reverse order of
 * registration (what started last stops first: stop consuming before closing the producer it
 * feeds). Then the process exits: 0 when every step succeeded, 1 when one failed or the
 * deadline passed. A second signal exits at once (130).
 */
export function onShutdown(fn: ShutdownFn): void {
  fns.push(fn)
  if (installed) return
  installed = true
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

/** Runs the registered steps now (signal handlers call this; so may a service's fatal path). */
export async function shutdown(reason: string): Promise<never> {
  if (shuttingDown) {
    options.log(`shutdown: ${reason} again, exiting now`)
    process.exit(130)
  }
  shuttingDown = true
  options.log(`shutdown: ${reason}, stopping ${fns.length} component(s)`)
  const timer = setTimeout(() => {
    options.log(`shutdown: not finished after ${options.timeoutMs} ms, exiting`)
    process.exit(1)
  }, options.timeoutMs)
  timer.unref()
  let failed = false
  for (const fn of [...fns].reverse()) {
    try {
      await fn()
    } catch (err) {
      failed = true
      options.log(`shutdown: step failed: ${(err as Error).message}`)
    }
  }
  options.log('shutdown: done')
  process.exit(failed ? 1 : 0)
}
