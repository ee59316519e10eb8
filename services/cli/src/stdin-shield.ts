import { spawn } from 'node:child_process'
import { createReadStream, fstatSync } from 'node:fs'

/** Set in the child: the fd that holds the caller's standard input. */
const ENV = 'CONNRCA_STDIN_FD'
/** Commands that never open the embedded store read stdin themselves. */
const STORELESS = new Set(['classify', 'generate', 'help', '--help', '-h'])

/**
 * chDB reads the host process's fd 0 as external data for every INSERT (chdb-io/chdb-core#239):
 * with data on stdin every store write fails ("Processing async inserts with both inlined and
 * external data (from stdin or infile) is not supported"), and with async_insert=0 it would
 * insert the caller's input as rows. No engine setting changes which fd it reads, so the CLI
 * keeps fd 0 away from it: when stdin is a pipe, file or socket and the command may open the
 * store, connrca runs itself again as a child whose fd 0 is /dev/null and whose fd 3 is the
 * caller's stdin (read by `inputStream()`). A terminal or /dev/null stays as it is (no extra
 * process). The parent only forwards signals and the exit status. Cost: one more Node start-up
 * (measured in the README).
 *
 * Returns true when this process became the parent (the caller must do nothing else).
 */
export function shieldStdin(argv: string[]): boolean {
  if (process.env[ENV] !== undefined || STORELESS.has(argv[0] ?? 'help')) return false
  let risky = false
  try {
    const s = fstatSync(0)
    risky = s.isFIFO() || s.isFile() || s.isSocket()
  } catch {
    return false // no fd 0 at all: nothing to shield
  }
  if (!risky) return false
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['ignore', 'inherit', 'inherit', 0],
    env: { ...process.env, [ENV]: '3' },
  })
  // Ctrl-C reaches the whole process group; the child flushes and saves positions on its own.
  const forward = (sig: NodeJS.Signals) => () => {
    if (child.exitCode === null) child.kill(sig)
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, forward(sig))
  child.on('error', (err) => {
    process.stderr.write(`connrca: cannot start: ${err.message}\n`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    }
    process.exit(code ?? 1)
  })
  return true
}

/** The caller's standard input: fd 3 in a shielded child, else process.stdin. */
export function inputStream(): NodeJS.ReadableStream {
  const fd = process.env[ENV]
  return fd === undefined ? process.stdin : createReadStream('', { fd: Number(fd) })
}
