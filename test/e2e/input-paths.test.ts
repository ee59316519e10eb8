import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { DEFAULT_PREFIX, type GroundTruth, type InjectedIncident, writeLog } from '@connrca/cli'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connrca, startConnrca } from '../support/cli.js'

// One set of logs through every input path: the same stored failures per server × category ×
// reason, the same incidents (id, count, persistence), no late drops, and RCA top clients equal
// to a GROUP BY over the stored events. The logs: three servers; orders-prod rotated into
// postgresql.log (newest), .log.1 and .log.2.gz (oldest), so glob order is newest first;
// billing-prod in csvlog; auth-prod with adjacent lines swapped (out of order within the
// allowed lateness). The Kafka deployment gets the same logs in test/e2e/distributed.test.ts.

const MIN = 60_000
const START = Date.UTC(2026, 2, 4, 0, 0, 0)
const DURATION = 150 * MIN
const SERVERS = ['orders-prod', 'billing-prod', 'auth-prod'] as const
const TOKEN = 'input-paths-token'
const PIPELINE = { window: '5m', allowedLateness: '2m', idleTimeout: '3s', thresholds: { network: 3, user_error: 3 } }

function incidents(server: string, offset: number): InjectedIncident[] {
  const at = (m: number) => START + (m + offset) * MIN
  const denied = Array.from({ length: 40 }, (_, i) => `81.2.69.${10 + i * 5}`)
  return [
    { server, category: 'firewall_deny', start: at(10), durationMs: 35 * MIN, perMinute: 9, clients: denied },
    { server, category: 'auth_fail', start: at(55), durationMs: 20 * MIN, perMinute: 6 },
    { server, category: 'tls_reject', start: at(80), durationMs: 25 * MIN, perMinute: 2 },
    { server, category: 'limit_reached', start: at(110), durationMs: 10 * MIN, perMinute: 15 },
    { server, category: 'transient', start: at(125), durationMs: 2 * MIN, perMinute: 25 },
    { server, category: 'network', start: at(0), durationMs: 140 * MIN, perMinute: 0.3 },
  ]
}

interface PathResult {
  /** `server/category/reason` → stored failures */
  failures: Record<string, number>
  /** incident id → count, persistence and top clients of its latest revision */
  incidents: Record<string, { server: string; category: string; count: number; persistence: string; topClients: unknown }>
  lateDropped: number
  /** incidents whose top clients differ from a GROUP BY over the stored events */
  topClientMismatches: string[]
}

const QUERY = `SELECT 'f' AS kind, server, category, reason AS key, toString(count()) AS val
FROM connection_events FINAL WHERE outcome = 'failed' GROUP BY server, category, reason
UNION ALL SELECT 'c', server, category,
  concat(client_ip, '@', toString(toUnixTimestamp(toStartOfInterval(time, INTERVAL 5 MINUTE)) * 1000)), toString(count())
FROM connection_events FINAL WHERE outcome = 'failed' GROUP BY server, category, client_ip, toStartOfInterval(time, INTERVAL 5 MINUTE)
UNION ALL SELECT 'i', server, category, id, toJSONString(map('count', toString(count), 'persistence', persistence,
  'clients', toJSONString(top_clients), 'starts', toJSONString(arrayMap(w -> toUnixTimestamp64Milli(w.1), windows))))
FROM rca_events FINAL`

let home: string
let logs: string
let config: string
const truths: GroundTruth[] = []
/** Each server's content, oldest first, as a writer produced it. */
const content: Record<string, string> = {}
const results: Record<string, PathResult> = {}
/** Records analyze read (built or let go by the relevance filter). */
let analyzedRecords = 0

/** The files in the order a shell glob lists them (orders-prod newest first). */
const globOrder = () => [
  join(logs, 'auth-prod', 'postgresql.log'),
  join(logs, 'billing-prod', 'postgresql.csv'),
  join(logs, 'orders-prod', 'postgresql.log'),
  join(logs, 'orders-prod', 'postgresql.log.1'),
  join(logs, 'orders-prod', 'postgresql.log.2.gz'),
]

async function readStore(dataDir: string, lateDropped: number): Promise<PathResult> {
  const r = await connrca(['sql', '--data-dir', dataDir, '--format', 'json', '--max-rows', '1000000', QUERY])
  expect(r.code, r.stderr).toBe(0)
  const rows = (JSON.parse(r.stdout) as { rows: string[][] }).rows
  const out: PathResult = { failures: {}, incidents: {}, lateDropped, topClientMismatches: [] }
  const perWindow = new Map<string, Map<number, Map<string, number>>>()
  const starts: Record<string, number[]> = {}
  for (const [kind, server, category, key, val] of rows) {
    if (kind === 'f') out.failures[`${server}/${category}/${key}`] = Number(val)
    else if (kind === 'c') {
      const at = key.lastIndexOf('@')
      const sc = `${server}/${category}`
      const byWindow = perWindow.get(sc) ?? new Map<number, Map<string, number>>()
      perWindow.set(sc, byWindow)
      const w = Number(key.slice(at + 1))
      const m = byWindow.get(w) ?? new Map<string, number>()
      byWindow.set(w, m)
      m.set(key.slice(0, at), Number(val))
    } else {
      const v = JSON.parse(val) as { count: string; persistence: string; clients: string; starts: string }
      out.incidents[key] = {
        server,
        category,
        count: Number(v.count),
        persistence: v.persistence,
        topClients: JSON.parse(v.clients),
      }
      starts[key] = (JSON.parse(v.starts) as string[]).map(Number)
    }
  }
  // GROUP BY client over the incident's windows, top 5 by count then value: the RCA must say the same.
  for (const [id, inc] of Object.entries(out.incidents)) {
    const sums = new Map<string, number>()
    for (const w of starts[id]) for (const [ip, n] of perWindow.get(`${inc.server}/${inc.category}`)?.get(w) ?? []) {
      if (ip) sums.set(ip, (sums.get(ip) ?? 0) + n)
    }
    const top = [...sums]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
      .map(([value, count]) => ({ value, count }))
    if (JSON.stringify(top) !== JSON.stringify(inc.topClients)) out.topClientMismatches.push(id)
  }
  return out
}

/** `N late (dropped)` of run's caught-up line. */
function lateOf(stderr: string): number {
  const m = stderr.match(/caught up: .*?([\d,]+) late \(dropped\)/)
  if (!m) throw new Error(`no caught-up line in:\n${stderr}`)
  return Number(m[1].replace(/,/g, ''))
}

async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/**
 * A `connrca run` with listener sources: the test sends while it runs, waits until the store
 * holds `expected` failures and the idle timeout has closed the windows, reads the late drops
 * from the health view, then stops it with SIGTERM (positions and state are saved).
 */
async function withListeners(
  name: string,
  sources: unknown[],
  expected: number,
  send: () => Promise<void>,
): Promise<PathResult> {
  const cfg = join(home, `${name}.yaml`)
  const dataDir = join(home, name)
  writeFileSync(cfg, stringify({ version: 1, sources, pipeline: PIPELINE }))
  const child = startConnrca(['run', '--config', cfg, '--data-dir', dataDir], { env: { INPUT_PATHS_TOKEN: TOKEN } })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  try {
    let api = ''
    for (let i = 0; i < 600 && !api; i++) {
      api = stderr.match(/dashboard: (http:\/\/[^/\s]+)/)?.[1] ?? ''
      if (!api) await new Promise((r) => setTimeout(r, 100))
    }
    if (!api) throw new Error(`${name}: no dashboard line in:\n${stderr}`)
    await send()
    const sql = async (q: string) => {
      const res = await fetch(`${api}/api/v1/sql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sql: q }),
      })
      const body = (await res.json()) as { rows: unknown[][] }
      return Number((body.rows[0] as unknown[])[0])
    }
    let stored = 0
    for (let i = 0; i < 300 && stored < expected; i++) {
      stored = await sql("SELECT count() FROM connection_events FINAL WHERE outcome = 'failed'")
      if (stored < expected) await new Promise((r) => setTimeout(r, 200))
    }
    expect(stored, `${name}: stored failures`).toBe(expected)
    // idle timeout (3 s) and a commit (1 s): every window fired and stored
    await new Promise((r) => setTimeout(r, 6000))
    const health = (await (await fetch(`${api}/api/v1/health`)).json()) as {
      pipeline: { stages: { name: string; lateDropped?: number }[] }
    }
    const late = health.pipeline.stages.find((s) => s.name === 'aggregator')?.lateDropped
    expect(late, `${name}: health view reports late drops`).toBeTypeOf('number')
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    expect(child.exitCode, stderr).toBe(0)
    return await readStore(dataDir, late as number)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}

/**
 * stderr lines as PostgreSQL's syslog output in RFC 5424 frames (ms timestamps, pid as PROCID):
 * one sequence number per report, its DETAIL/HINT/CONTEXT/STATEMENT lines as further chunks.
 */
function toSyslog(text: string, host: string): string {
  const seq = new Map<string, { n: number; chunk: number }>()
  const out: string[] = []
  for (const line of text.split('\n')) {
    const m = line.match(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\] (.*)$/)
    if (!m) continue
    const s = seq.get(m[3]) ?? { n: 0, chunk: 0 }
    if (/^\S+ (DETAIL|HINT|CONTEXT|STATEMENT): /.test(m[4]) && s.n > 0) s.chunk++
    else {
      s.n++
      s.chunk = 1
    }
    seq.set(m[3], s)
    out.push(`<134>1 ${m[1]}T${m[2]}Z ${host} postgres ${m[3]} - - [${s.n}-${s.chunk}] ${m[4]}`)
  }
  return `${out.join('\n')}\n`
}

/** Index of the first `connection received` line at or after `from`: rotation cuts between records. */
function cutAt(lines: string[], from: number): number {
  let i = from
  while (!lines[i].includes('LOG:  connection received')) i++
  return i
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'connrca-paths-'))
  logs = join(home, 'logs')
  const gen = { start: START, durationMs: DURATION, ratePerSec: 2, prefix: DEFAULT_PREFIX }
  const file = (s: string) => join(logs, s, s === 'billing-prod' ? 'postgresql.csv' : 'postgresql.log')
  for (const [i, server] of SERVERS.entries()) {
    const format = server === 'billing-prod' ? 'csvlog' : 'stderr'
    truths.push(
      await writeLog(file(server), { ...gen, servers: [server], format, incidents: incidents(server, 3 * i), seed: 11 + i }),
    )
    content[server] = readFileSync(file(server), 'utf8')
  }
  // auth-prod: every 20th swappable pair of adjacent single-line records of two backends swapped
  // (each backend's own lines keep their order; times go back by up to a few seconds).
  const auth = content['auth-prod'].split('\n')
  const pid = (l: string) => l.match(/^\S+ \S+ UTC \[(\d+)\]/)?.[1]
  const single = (l: string | undefined) => l !== undefined && /\] \S+ (LOG|FATAL|ERROR): /.test(l)
  let swapped = 0
  let candidates = 0
  for (let i = 0; i + 2 < auth.length; i++) {
    const [x, y, z] = [auth[i], auth[i + 1], auth[i + 2]]
    if (!single(x) || !single(y) || pid(x) === pid(y) || (pid(z) === pid(y) && !single(z))) continue
    if (candidates++ % 20 !== 0) continue
    ;[auth[i], auth[i + 1]] = [y, x]
    swapped++
    i++
  }
  expect(swapped).toBeGreaterThan(5)
  content['auth-prod'] = auth.join('\n')
  writeFileSync(file('auth-prod'), content['auth-prod'])
  // orders-prod: rotated into three parts, the oldest compressed.
  const orders = content['orders-prod'].replace(/\n$/, '').split('\n')
  const a = cutAt(orders, Math.floor(orders.length / 3))
  const b = cutAt(orders, Math.floor((2 * orders.length) / 3))
  const part = (from: number, to: number) => `${orders.slice(from, to).join('\n')}\n`
  writeFileSync(`${file('orders-prod')}.2.gz`, gzipSync(part(0, a)))
  writeFileSync(`${file('orders-prod')}.1`, part(a, b))
  writeFileSync(file('orders-prod'), part(b, orders.length))
  config = join(home, 'connrca.yaml')
  writeFileSync(config, stringify({ version: 1, pipeline: PIPELINE }))
}, 120_000)

afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true })
})

describe('every input path gives the same numbers', () => {
  it('analyze, files in glob order (newest part of orders-prod first)', async () => {
    const dataDir = join(home, 'analyze')
    const r = await connrca(['analyze', '--json', '--config', config, '--data-dir', dataDir, ...globOrder()])
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as { lateDropped: number; records: number }
    analyzedRecords = report.records
    results.analyze = await readStore(dataDir, report.lateDropped)
    // the reference itself: exactly what the generator injected, every incident found, nothing late
    const injected: Record<string, number> = {}
    for (const t of truths)
      for (const [server, cats] of Object.entries(t.failures))
        for (const [category, n] of Object.entries(cats)) if (n) injected[`${server}/${category}`] = n
    const stored: Record<string, number> = {}
    for (const [k, n] of Object.entries(results.analyze.failures)) {
      const sc = k.split('/').slice(0, 2).join('/')
      stored[sc] = (stored[sc] ?? 0) + n
    }
    expect(stored).toEqual(injected)
    expect(results.analyze.lateDropped).toBe(0)
    const firewall = Object.values(results.analyze.incidents).filter((i) => i.category === 'firewall_deny')
    expect(firewall.map((i) => i.server).sort()).toEqual([...SERVERS].sort())
    expect(results.analyze.topClientMismatches).toEqual([])
  })

  it('analyze, files in reverse order', async () => {
    const dataDir = join(home, 'analyze-reverse')
    const r = await connrca(['analyze', '--json', '--config', config, '--data-dir', dataDir, ...globOrder().reverse()])
    expect(r.code, r.stderr).toBe(0)
    results.reverse = await readStore(dataDir, (JSON.parse(r.stdout) as { lateDropped: number }).lateDropped)
    expect(results.reverse).toEqual(results.analyze)
  })

  it('run --once on the same data directory after analyze stores nothing twice (same ids)', async () => {
    const dataDir = join(home, 'analyze')
    const r = await connrca(['run', '--once', '--config', config, '--data-dir', dataDir, ...globOrder()])
    expect(r.code, r.stderr).toBe(0)
    expect(await readStore(dataDir, lateOf(r.stderr))).toEqual(results.analyze)
  })

  it('run --once on the paths', async () => {
    const dataDir = join(home, 'run-paths')
    const r = await connrca(['run', '--once', '--config', config, '--data-dir', dataDir, ...globOrder()])
    expect(r.code, r.stderr).toBe(0)
    // once caught up, it says how many records it read, counted as analyze counts them (issue 11 defect 5)
    expect(r.stderr).toContain(`caught up: ${analyzedRecords.toLocaleString('en-US')} records,`)
    expect(await readStore(dataDir, lateOf(r.stderr))).toEqual(results.analyze)
  })

  it('run --once on a config glob', async () => {
    const cfg = join(home, 'glob.yaml')
    const sources = [
      { type: 'file', name: 'fleet', paths: [join(logs, '*', 'postgresql*')], serverFromPath: '/logs/(?<server>[^/]+)/' },
    ]
    writeFileSync(cfg, stringify({ version: 1, sources, pipeline: PIPELINE }))
    const dataDir = join(home, 'run-glob')
    const r = await connrca(['run', '--once', '--config', cfg, '--data-dir', dataDir])
    expect(r.code, r.stderr).toBe(0)
    expect(await readStore(dataDir, lateOf(r.stderr))).toEqual(results.analyze)
  })

  it('run - from a pipe, one server per run, into one data directory', async () => {
    const dataDir = join(home, 'stdin')
    let late = 0
    for (const server of SERVERS) {
      const r = await connrca(['run', '-', '--once', '--server', server, '--config', config, '--data-dir', dataDir], {
        input: content[server],
      })
      expect(r.code, r.stderr).toBe(0)
      late += lateOf(r.stderr)
    }
    expect(await readStore(dataDir, late)).toEqual(results.analyze)
  })

  it('HTTP push', async () => {
    const port = await freePort()
    const expected = Object.values(results.analyze.failures).reduce((a, b) => a + b, 0)
    const result = await withListeners(
      'http',
      [{ type: 'http', name: 'push', host: '127.0.0.1', port, tokenEnv: 'INPUT_PATHS_TOKEN' }],
      expected,
      async () => {
        for (const server of SERVERS) {
          const res = await fetch(`http://127.0.0.1:${port}/v1/logs?server=${server}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
            body: content[server],
          })
          expect(res.status, await res.text()).toBe(202)
        }
      },
    )
    expect(result).toEqual(results.analyze)
  })

  it('syslog over TCP (the stderr servers, as PostgreSQL would send them)', async () => {
    const port = await freePort()
    const text = ['orders-prod', 'auth-prod'].map((s) => toSyslog(content[s], s)).join('')
    const only = (r: PathResult): PathResult => {
      const keep = (k: string) => !k.startsWith('billing-prod/')
      return {
        failures: Object.fromEntries(Object.entries(r.failures).filter(([k]) => keep(k))),
        incidents: Object.fromEntries(Object.entries(r.incidents).filter(([, v]) => v.server !== 'billing-prod')),
        lateDropped: r.lateDropped,
        topClientMismatches: r.topClientMismatches,
      }
    }
    const reference = only(results.analyze)
    const expected = Object.values(reference.failures).reduce((a, b) => a + b, 0)
    const result = await withListeners(
      'syslog',
      [{ type: 'syslog', name: 'relay', tcp: { host: '127.0.0.1', port }, prefix: '%q%u@%d ' }],
      expected,
      async () => {
        const socket = net.connect(port, '127.0.0.1')
        await new Promise<void>((r, f) => socket.once('connect', r).once('error', f))
        await new Promise<void>((r) => socket.end(text, r))
      },
    )
    expect(result).toEqual(reference)
  })
})
