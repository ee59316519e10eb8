import { spawn } from 'node:child_process'
import { resolve } from 'node:path'

export const REPO = resolve(import.meta.dirname, '..', '..')
/** `node --import tsx main.ts`: one process, so a signal or SIGKILL reaches connrca itself (the tsx wrapper would orphan it). */
const NODE_ARGS = ['--import', 'tsx']
const MAIN = resolve(REPO, 'services', 'cli', 'src', 'main.ts')
/** Tests run side by side: the embedded dashboard takes a free port instead of 8080. */
const TEST_ENV = { CONNRCA_API_PORT: '0' }

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs `connrca …` as a real child process, the way a user does. */
export function connrca(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...NODE_ARGS, MAIN, ...args], { cwd: opts.cwd ?? REPO, env: { ...process.env, ...TEST_ENV, ...opts.env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', fail)
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }))
    child.stdin.end(opts.input ?? '')
  })
}

/** Starts `connrca …` and hands back the child, for tests that signal or kill it. */
export function startConnrca(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  return spawn(process.execPath, [...NODE_ARGS, MAIN, ...args], { cwd: REPO, env: { ...process.env, ...TEST_ENV, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
}
