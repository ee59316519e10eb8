import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { DEFAULT_PREFIX, writeLogs } from '@connrca/cli'
import { countsByServerCategory, latestRcaEvents, latestWindowCounts, openStore, type Store } from '@connrca/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connrca, startConnrca } from '../support/cli.js'
import { type ClickHouseFrontProcess, spawnClickHouseFront } from '../support/clickhouse-front-process.js'
import { ensureKafka, kafkaTests } from '../support/kafka.js'

// collector → classifier ×2 → aggregator ×2 → store, each its own `connrca service` process,
// over the real broker and one ClickHouse HTTP front (chDB) shared over loopback. The same
// generated log goes through `connrca run --once` (in-process topics) into another database of
// the same front; stored counts, windows and RCA events must be equal — also after one
// classifier is SIGKILLed mid-stream. orders-prod's log is rotated into postgresql.log (newest),
// .log.1 and .log.2.gz, which the glob lists newest first: neither deployment may drop a line as
// late (the other input paths get the same treatment in test/e2e/input-paths.test.ts).

const START = Date.UTC(2026, 2, 3, 0, 0, 0)
const MIN = 60_000
const SERVERS = ['orders-prod', 'billing-prod', 'auth-prod', 'search-prod']
const INCIDENTS = [
  { server: 'orders-prod', category: 'firewall_deny', start: START + 20 * MIN, durationMs: 25 * MIN, perMinute: 25 },
  { server: 'billing-prod', category: 'auth_fail', start: START + 35 * MIN, durationMs: 15 * MIN, perMinute: 30 },
  { server: 'auth-prod', category: 'limit_reached', start: START + 50 * MIN, durationMs: 10 * MIN, perMinute: 40 },
  { server: 'search-prod', category: 'tls_reject', start: START + 30 * MIN, durationMs: 20 * MIN, perMinute: 20 },
] as const

const pipeline = {
  window: '30s',
  allowedLateness: '10s',
  // Longer than any stall the test causes (a killed group member is noticed after the 6 s
  // session timeout), so windows close on event time as in the embedded run; the last
  // windows close on this idle timeout.
  idleTimeout: '15s',
  thresholds: {
    firewall_deny: 5,
    auth_fail: 5,
    limit_reached: 5,
    tls_reject: 5,
    network: 50,
    user_error: 50,
    transient: 50,
  },
}

describe.skipIf(kafkaTests.skip)('distributed mode: connrca service × 5 over Kafka', () => {
  let home: string
  let front: ClickHouseFrontProcess
  let embedded: Store
  let distributed: Store
  const children: ChildProcess[] = []
  let killedAt = { events: -1, total: -1 }

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'connrca-dist-'))
    const logs = join(home, 'logs')
    await writeLogs(logs, {
      servers: SERVERS,
      start: START,
      durationMs: 90 * MIN,
      ratePerSec: 6,
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
      seed: 7,
      incidents: INCIDENTS.map((i) => ({ ...i })),
    })
    await rotate(join(logs, 'orders-prod', 'postgresql.log'))
    const brokers = await ensureKafka()
    front = await spawnClickHouseFront({ dataDir: join(home, 'ch'), user: 'connrca', password: 's3cret' })
    const sources = [
      {
        type: 'file',
        name: 'fleet',
        paths: [join(logs, '*', 'postgresql.log*')],
        serverFromPath: '/logs/(?<server>[^/]+)/',
        format: 'stderr',
        prefix: DEFAULT_PREFIX,
      },
    ]
    const base = { version: 1, sources, pipeline, api: { enabled: false } }
    await writeFile(join(home, 'embedded.yaml'), stringify({ ...base, store: { database: 'embedded' } }))
    await writeFile(
      join(home, 'dist.yaml'),
      stringify({
        ...base,
        store: { database: 'dist' },
        kafka: {
          brokers: brokers.split(','),
          clientId: 'connrca-e2e',
          partitions: 4,
          topicPrefix: `e2e-${process.pid}-${Date.now()}.`,
          sessionTimeoutMs: 6000,
          heartbeatIntervalMs: 1000,
        },
      }),
    )
    const env = {
      CONNRCA_STORE_URL: front.url,
      CONNRCA_STORE_USER: 'connrca',
      CONNRCA_STORE_PASSWORD: 's3cret',
      CONNRCA_HEALTH_PORT: '0',
      CONNRCA_HEALTH_HOST: '127.0.0.1',
    }
    const storeCfg = { url: front.url, username: 'connrca', password: 's3cret' }
    embedded = await openStore({ ...storeCfg, database: 'embedded' })
    distributed = await openStore({ ...storeCfg, database: 'dist' })
    // Schema first, before five processes write (the compose file runs `connrca migrate` alike).
    await distributed.migrate()
    await embedded.migrate()

    const distEnv = { ...env, CONNRCA_CONFIG: join(home, 'dist.yaml') }
    const spawnService = (name: string) => {
      const child = startConnrca(['service', name], { env: distEnv })
      let err = ''
      child.stderr?.on('data', (d) => {
        if (process.env.E2E_DEBUG) process.stderr.write(`[${name}] ${d}`)
        err += d
        if (err.length > 200_000) err = err.slice(-100_000)
      })
      ;(child as ChildProcess & { log: () => string }).log = () => err
      children.push(child)
      return child
    }
    const aggregators = [spawnService('aggregator'), spawnService('aggregator')]
    const classifiers = [spawnService('classifier'), spawnService('classifier')]
    await Promise.all([...aggregators, ...classifiers].map(waitRunning))
    spawnService('collector')

    // The embedded run on the same input, meanwhile.
    const embeddedRun = connrca(['run', '--once'], { env: { ...env, CONNRCA_CONFIG: join(home, 'embedded.yaml') } })

    // Kill one classifier as soon as events reach the store: the collector is still publishing.
    const t0 = Date.now()
    const kill = (async () => {
      for (;;) {
        const n = await failedAndReceived(distributed)
        if (n > 0) {
          classifiers[0].kill('SIGKILL')
          return n
        }
        if (Date.now() - t0 > 120_000) throw new Error('no connection events reached the store in 120 s')
        await sleep(50)
      }
    })()
    const r = await embeddedRun
    if (process.env.E2E_DEBUG) process.stderr.write(`embedded: ${r.stderr}\n`)
    expect(r.stderr).toContain(' 0 late (dropped)')
    expect(r.code, r.stderr).toBe(0)
    killedAt = { events: await kill, total: await failedAndReceived(embedded) }
  }, 240_000)

  afterAll(async () => {
    await Promise.all(children.map(stop))
    await embedded?.close()
    await distributed?.close()
    await front?.close()
    if (home) await rm(home, { recursive: true, force: true })
  })

  it('killed a classifier mid-stream', () => {
    expect(killedAt.events).toBeGreaterThan(0)
    expect(killedAt.events).toBeLessThan(killedAt.total)
  })

  it('stores the same failures per server and category as the embedded run', async () => {
    const want = toMap(await countsByServerCategory(embedded))
    // the injected incidents are there at all
    for (const i of INCIDENTS) expect(want.get(`${i.server}/${i.category}`) ?? 0).toBeGreaterThan(100)
    await eventually(async () => expect(toMap(await countsByServerCategory(distributed))).toEqual(want))
  }, 120_000)

  it('emits the same windows and RCA events', async () => {
    const windows = (s: Store) =>
      latestWindowCounts(s).then((ws) =>
        ws
          .map((w) => `${w.server} ${w.category} ${w.windowStart} failures=${w.failures} attempts=${w.attempts}`)
          .sort(),
      )
    const rca = (s: Store) =>
      latestRcaEvents(s, { limit: 10_000 }).then((es) =>
        es
          .map((e) => ({
            id: e.id,
            revision: e.revision,
            status: e.status,
            count: e.count,
            first: e.firstFailure,
            last: e.lastFailure,
            persistence: e.persistence,
            title: e.title,
            topClients: e.topClients,
          }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      )
    const wantWindows = await windows(embedded)
    const wantRca = await rca(embedded)
    expect(wantRca.map((e) => e.id).length).toBeGreaterThanOrEqual(INCIDENTS.length)
    await eventually(async () => {
      expect(await windows(distributed)).toEqual(wantWindows)
      expect(await rca(distributed)).toEqual(wantRca)
    })
  }, 120_000)

  it('every surviving service reports health and metrics', async () => {
    const emitted = { windows: 0, rca: 0, late: 0 }
    const sum = (text: string, name: string) =>
      [...text.matchAll(new RegExp(`^connrca_${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
        (a, x) => a + Number(x[1]),
        0,
      )
    for (const child of children.filter((c) => c.exitCode === null && c.signalCode === null)) {
      const port = healthPort(child)
      const h = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(h.status).toBe(200)
      const body = (await h.json()) as { status: string }
      expect(['ok', 'degraded']).toContain(body.status)
      const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      expect(m).toContain('connrca_kafka_')
      emitted.windows += sum(m, 'aggregator_windows_out_total')
      emitted.rca += sum(m, 'aggregator_rca_out_total')
      emitted.late += sum(m, 'aggregator_late_dropped_total')
    }
    // the rotated parts read newest first lose nothing to lateness here either
    expect(emitted.late).toBe(0)
    // Regression: both counters stayed 0 (measured after the rows they count were emitted).
    expect(emitted.windows).toBeGreaterThan(0)
    expect(emitted.rca).toBeGreaterThan(0)
  })

  it('SIGTERM: finishes, commits, leaves the group, exits 0', async () => {
    const live = children.filter((c) => c.exitCode === null && c.signalCode === null)
    const codes = await Promise.all(live.map(stop))
    expect(codes).toEqual(live.map(() => 0))
  }, 60_000)
})

/** Splits a log into `file` (newest third), `file.1` and `file.2.gz` (oldest), cut before a `connection received`. */
async function rotate(file: string): Promise<void> {
  const lines = (await readFile(file, 'utf8')).replace(/\n$/, '').split('\n')
  const cut = (from: number) => {
    let i = from
    while (!lines[i].includes('LOG:  connection received')) i++
    return i
  }
  const a = cut(Math.floor(lines.length / 3))
  const b = cut(Math.floor((2 * lines.length) / 3))
  const part = (from: number, to: number) => `${lines.slice(from, to).join('\n')}\n`
  await writeFile(`${file}.2.gz`, gzipSync(part(0, a)))
  await writeFile(`${file}.1`, part(a, b))
  await writeFile(file, part(b, lines.length))
}

function logOf(child: ChildProcess): string {
  return (child as ChildProcess & { log?: () => string }).log?.() ?? ''
}

function healthPort(child: ChildProcess): number {
  const m = /"healthPort":(\d+)/.exec(logOf(child))
  if (!m) throw new Error(`no health port in the log:\n${logOf(child).slice(-2000)}`)
  return Number(m[1])
}

async function waitRunning(child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!/"healthPort":\d+/.test(logOf(child))) {
    if (child.exitCode !== null) throw new Error(`service exited ${child.exitCode}:\n${logOf(child).slice(-3000)}`)
    if (Date.now() > deadline) throw new Error(`service not running after 60 s:\n${logOf(child).slice(-3000)}`)
    await sleep(100)
  }
}

function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('exit', (code) => {
      clearTimeout(force)
      resolve(code)
    })
    child.kill('SIGTERM')
  })
}

async function failedAndReceived(store: Store): Promise<number> {
  const [row] = await store.query<{ n: string }>('SELECT count() AS n FROM connection_events')
  return Number(row?.n ?? 0)
}

function toMap(rows: { server: string; category: string; failures: number | string }[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.server}/${r.category}`, Number(r.failures)]))
}

/** Retries an assertion until it holds or 100 s passed (the last windows close on the idle timeout). */
async function eventually(check: () => Promise<void>, ms = 100_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      await check()
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await sleep(1000)
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
