import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { connrcaNodeArgs } from '../../support/cli.js'

export const REPO = resolve(import.meta.dirname, '..', '..', '..')
const MUTANTS = resolve(import.meta.dirname, 'mutants.ts')

/**
 * `connrca …` as ONE process. test/support's startConnrca goes through the tsx wrapper, which
 * runs the CLI in a grandchild: SIGKILL on the wrapper leaves the real connrca running as an
 * orphan, so it cannot simulate a crash. `node --import tsx` loads TypeScript in-process.
 */
export function spawnConnrca(args: string[]): ChildProcess & { output: () => string; stdoutText: () => string } {
  // CRASH_MUTANT breaks `run` on purpose (see mutants.ts): proof that the test can fail.
  const mutate = process.env.CRASH_MUTANT && args[0] === 'run' ? [MUTANTS] : []
  const child = spawn(process.execPath, connrcaNodeArgs(args, mutate), {
    cwd: REPO,
    env: { ...process.env, CONNRCA_API_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  let stdout = ''
  child.stderr?.on('data', (d) => (stderr += d))
  child.stdout?.on('data', (d) => (stdout += d))
  return Object.assign(child, { output: () => stderr, stdoutText: () => stdout })
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })))
}

/** Runs `connrca …` to completion. */
export async function runConnrca(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawnConnrca(args)
  const { code } = await exited(child)
  return { code, stderr: child.output(), stdout: child.stdoutText() }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Stops a follower the polite way (it flushes and saves positions) and checks it did. */
export async function stop(child: ReturnType<typeof spawnConnrca>): Promise<void> {
  child.kill('SIGTERM')
  const { code } = await exited(child)
  if (code !== 0) throw new Error(`connrca run did not stop cleanly (${code}):\n${child.output()}`)
}

export async function until(child: ReturnType<typeof spawnConnrca>, text: string): Promise<void> {
  for (let waited = 0; !child.output().includes(text); waited += 50) {
    if (child.exitCode !== null) throw new Error(`connrca run exited:\n${child.output()}`)
    if (waited > 60_000) throw new Error(`no "${text}" from connrca run within 60 s:\n${child.output()}`)
    await sleep(50)
  }
}
