import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { DIST_CLI } from '../../scripts/build.js'

export const REPO = resolve(import.meta.dirname, '..', '..')
const MAIN = resolve(REPO, 'services', 'cli', 'src', 'main.ts')

/**
 * Node's arguments for `connrca …`, always one process so a signal or SIGKILL reaches connrca
 * itself (the tsx wrapper would orphan it). `connrca service …` runs the compiled dist/cli.js,
 * as the image does (test/support/build-global.ts builds it); the other commands run the
 * TypeScript with `--import tsx`, as `pnpm -s connrca` does in a checkout. `preload` adds
 * `--import` modules (the crash tests' mutants), which patch the TypeScript sources, so it
 * runs from source too.
 */
export function connrcaNodeArgs(args: string[], preload: string[] = []): string[] {
  if (args[0] === 'service' && preload.length === 0) return [DIST_CLI, ...args]
  return ['--import', 'tsx', ...preload.flatMap((m) => ['--import', m]), MAIN, ...args]
}
/** Tests run side by side: the embedded dashboard takes a free port instead of 8080. */
const TEST_ENV = { CONNRCA_API_PORT: '0' }

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs `connrca …` as a real child process, the way a user does. */
export function connrca(
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, connrcaNodeArgs(args), {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, ...TEST_ENV, ...opts.env },
    })
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
  return spawn(process.execPath, connrcaNodeArgs(args), {
    cwd: REPO,
    env: { ...process.env, ...TEST_ENV, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}
