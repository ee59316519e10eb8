import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Metrics } from './metrics.js'

export type HealthStatus = 'ok' | 'degraded' | 'down'

export interface HealthReport {
  status: HealthStatus
  details?: object
}

/** What every `connrca service <name>` hands back once started. */
export interface RunningService {
  readonly name: string
  readonly metrics: Metrics
  health(): HealthReport
  /** Finish the running batch, commit, leave the consumer group, flush, release resources. */
  close(): Promise<void>
}

export interface HealthServerOptions {
  /** 0 picks a free port (tests); the bound port is returned. */
  port: number
  host?: string
  metrics: Metrics
  health: () => HealthReport | Promise<HealthReport>
}

export interface HealthServer {
  port: number
  close(): Promise<void>
}

/**
 * `/healthz`: JSON report, 200 for ok and degraded (the process works, something it depends on
 * does not: a load balancer should keep it, a human should look), 503 for down.
 * `/metrics`: Prometheus text format.
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const host = opts.host ?? '0.0.0.0'
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/metrics') {
      let body: string
      try {
        body = opts.metrics.render()
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`)
        return
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body)
      return
    }
    if (path === '/healthz') {
      Promise.resolve()
        .then(() => opts.health())
        .then(
          (report) => send(report.status === 'down' ? 503 : 200, report),
          (err: Error) => send(503, { status: 'down', details: { error: err.message } }),
        )
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /healthz or /metrics\n')

    function send(code: number, report: HealthReport) {
      res.writeHead(code, { 'content-type': 'application/json' }).end(`${JSON.stringify(report)}\n`)
    }
  })
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new Error(`health server: cannot listen on ${host}:${opts.port}: ${err.code ?? err.message}`))
    server.once('error', onError)
    server.listen(opts.port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Port of every service's /healthz and /metrics unless CONNRCA_HEALTH_PORT says otherwise. */
export const DEFAULT_HEALTH_PORT = 9464

/**
 * Where a service's health server listens: CONNRCA_HEALTH_PORT (default 9464) and
 * CONNRCA_HEALTH_HOST (default 0.0.0.0, so container health checks and Prometheus reach it).
 */
export function healthListenFromEnv(env: Record<string, string | undefined> = process.env): {
  port: number
  host: string
} {
  const raw = env.CONNRCA_HEALTH_PORT
  const port = raw === undefined || raw === '' ? DEFAULT_HEALTH_PORT : Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`CONNRCA_HEALTH_PORT: expected a port number 0-65535, got "${raw}"`)
  }
  return { port, host: env.CONNRCA_HEALTH_HOST || '0.0.0.0' }
}
