import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'
import { join } from 'node:path'
import { exited, REPO } from './process.js'

export interface Front {
  url: string
  port: number
  close(): Promise<void>
}

/**
 * The chDB ClickHouse front (test/support) in its own process, like a server: chDB holds one data
 * directory per process, and a real server accepts the long request lines the services send
 * (Node's default 16 KiB header limit would refuse them).
 */
export async function startFront(dataDir: string, user: string, password: string): Promise<Front> {
  const code = `
    const { startClickHouseFront } = await import(${JSON.stringify(join(REPO, 'test/support/clickhouse-http-front.ts'))})
    const f = await startClickHouseFront(${JSON.stringify({ dataDir, user, password })})
    console.log('URL ' + f.url)
    process.on('SIGTERM', () => f.close().then(() => process.exit(0)))`
  const child = spawn(
    process.execPath,
    ['--max-http-header-size=67108864', '--import', 'tsx', '--input-type=module', '-e', code],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /URL (\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.once('exit', (c) => reject(new Error(`clickhouse front exited ${c}`)))
  })
  return { url, port: Number(new URL(url).port), close: () => terminate(child) }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000)
  child.kill('SIGTERM')
  await exited(child)
  clearTimeout(force)
}

export interface Gate {
  url: string
  /** Like a stopped server: in-flight requests are cut and new connections refused. */
  down(): Promise<void>
  /** Listens again on the same port. */
  up(): Promise<void>
  close(): Promise<void>
}

/**
 * A TCP pass-through on loopback that the services use as their ClickHouse address, so the store
 * can "go down" without killing chDB in the middle of a write (which could damage its files, not
 * what this test is about) and come back on the same address.
 */
export async function startGate(targetPort: number): Promise<Gate> {
  const sockets = new Set<net.Socket>()
  const track = (s: net.Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    track(client)
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  await listen(0)
  const port = (server.address() as net.AddressInfo).port
  const down = async () => {
    if (!server.listening) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const s of sockets) s.destroy()
    await closed
  }
  return {
    url: `http://127.0.0.1:${port}`,
    down,
    up: () => (server.listening ? Promise.resolve() : listen(port)),
    close: down,
  }
}
