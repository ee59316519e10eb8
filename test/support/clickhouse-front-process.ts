import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import type { ClickHouseFrontOptions } from './clickhouse-http-front.js'

const REPO = resolve(import.meta.dirname, '..', '..')
const FRONT = resolve(import.meta.dirname, 'clickhouse-http-front.ts')

export interface ClickHouseFrontProcess {
  url: string
  port: number
  child: ChildProcess
  /** SIGTERM, SIGKILL after 10 s. */
  close(): Promise<void>
}

/**
 * The chDB ClickHouse front in its own process, like a server: chDB holds one data directory per
 * process, the caller stays light, and the front accepts the long request lines the services send
 * (checkpoints travel in URL parameters; Node's default 16 KiB header limit would refuse them, a
 * real server allows 1 MiB). `stderr: 'pipe'` hands the front's stderr to the caller to read.
 */
export async function spawnClickHouseFront(
  opts: ClickHouseFrontOptions & { stderr?: 'inherit' | 'pipe' },
): Promise<ClickHouseFrontProcess> {
  const { stderr = 'inherit', ...front } = opts
  const code = `
    const { startClickHouseFront } = await import(${JSON.stringify(FRONT)})
    const f = await startClickHouseFront(${JSON.stringify(front)})
    console.log('URL ' + f.url)
    process.on('SIGTERM', () => f.close().then(() => process.exit(0)))`
  const child = spawn(
    process.execPath,
    ['--max-http-header-size=67108864', '--import', 'tsx', '--input-type=module', '-e', code],
    { cwd: REPO, stdio: ['ignore', 'pipe', stderr] },
  )
  const url = await new Promise<string>((done, fail) => {
    let out = ''
    child.stdout?.on('data', (d) => {
      out += d
      const m = /URL (\S+)/.exec(out)
      if (m) done(m[1])
    })
    child.once('exit', (c) => fail(new Error(`clickhouse front exited ${c}`)))
  })
  return { url, port: Number(new URL(url).port), child, close: () => terminate(child) }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const exited = new Promise((done) => child.once('exit', done))
  child.kill('SIGTERM')
  await exited
  clearTimeout(force)
}
