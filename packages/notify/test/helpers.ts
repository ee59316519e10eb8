import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RcaEvent } from '@connrca/contracts'
import type { Clock } from '../src/clock.js'

/** Virtual time: `sleep` moves time forward at once, so rate limits cost no wall time. */
export class FakeClock implements Clock {
  constructor(public t = Date.UTC(2024, 4, 1, 10, 0, 0)) {}
  now(): number {
    return this.t
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms
  }
  advance(ms: number): void {
    this.t += ms
  }
}

export interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect payloads of several formats loosely
  json: any
  at: number
}

/** What the receiver does with the next request: a status code, or 'hang' (never answers). */
export type Reply = number | 'hang'

export interface TestReceiver {
  url: string
  requests: Received[]
  /** Replies used in order for the next requests; after that `fallback`. */
  replies: Reply[]
  fallback: Reply
  maxConcurrent: number
  close(): Promise<void>
}

/** A real HTTP webhook endpoint on 127.0.0.1 that records every request. */
export async function startReceiver(path = '/hook/T0KEN-s3cr3t-path?token=abc123'): Promise<TestReceiver> {
  const hanging = new Set<import('node:http').ServerResponse>()
  let active = 0
  const rec: TestReceiver = {
    url: '',
    requests: [],
    replies: [],
    fallback: 200,
    maxConcurrent: 0,
    close: async () => {},
  }
  const server: Server = createServer((req, res) => {
    active++
    rec.maxConcurrent = Math.max(rec.maxConcurrent, active)
    const chunks: Buffer[] = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        json = undefined
      }
      rec.requests.push({ path: req.url ?? '', headers: req.headers, body, json, at: Date.now() })
      const reply = rec.replies.length ? rec.replies.shift()! : rec.fallback
      if (reply === 'hang') {
        hanging.add(res)
        res.on('close', () => active--)
        return
      }
      // A little latency so concurrency is observable.
      setTimeout(() => {
        res.writeHead(reply, { 'content-type': 'text/plain' })
        res.end(reply >= 400 ? `error ${reply} for ${req.url}` : 'ok')
        active--
      }, 5)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  rec.url = `http://127.0.0.1:${port}${path}`
  rec.close = async () => {
    for (const r of hanging) r.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return rec
}

/** A port nothing listens on (bound, then released). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}/hook/refused-T0KEN`
}

let seq = 0
export function makeEvent(p: Partial<RcaEvent> = {}): RcaEvent {
  const first = p.firstFailure ?? Date.UTC(2024, 4, 1, 9, 30)
  const server = p.server ?? 'orders-prod'
  const category = p.category ?? 'firewall_deny'
  return {
    schema: 'connrca.rca.v1',
    id: p.id ?? `inc-${server}-${category}-${++seq}`,
    revision: 1,
    status: 'open',
    server,
    category,
    count: 412,
    attempts: 900,
    firstFailure: first,
    lastFailure: first + 45 * 60_000,
    windows: [{ start: first, end: first + 5 * 60_000, failures: 412 }],
    reasons: [{ value: 'no_pg_hba_entry', count: 412 }],
    topClients: [{ value: '81.2.69.142', count: 300 }],
    topUsers: [{ value: 'app', count: 412 }],
    topDatabases: [{ value: 'orders', count: 412 }],
    sampleMessages: ['no pg_hba.conf entry for host "81.2.69.142"'],
    persistence: 'persistent',
    severity: 'warning',
    title: `412 connection attempts to ${server} failed because of firewall rules`,
    text: 'Clients from 81.2.69.0-81.2.69.255 were refused by the server firewall.',
    steps: ['Add a firewall rule for the client range.', 'Wait five minutes for the rule to apply.'],
    emittedAt: first + 45 * 60_000,
    ...p,
  }
}

export const SEC = 1000
export const MIN = 60 * SEC
export const HOUR = 60 * MIN
