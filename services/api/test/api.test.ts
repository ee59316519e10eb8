import {
  type ConnectionEvent,
  FailuresResponse,
  HealthResponse,
  RatioResponse,
  RcaDetailResponse,
  RcaListResponse,
  TopResponse,
} from '@connrca/contracts'
import type { Store } from '@connrca/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiConfigError, createApiServer } from '../src/index.js'
import { type Harness, startHarness, TOKEN } from './harness.js'

let h: Harness
let failed: ConnectionEvent[]
let range: string

beforeAll(async () => {
  h = await startHarness({ maxRangeDays: 31 }, () => ({
    status: 'ok',
    startedAt: h.now - 60_000,
    sources: [{ name: '/var/log/postgresql/orders-prod.log', kind: 'file', status: 'ok', lagMs: 1200, records: 42 }],
    stages: [{ name: 'classifier', processed: 42 }],
  }))
  failed = h.data.connectionEvents.filter((e) => e.outcome === 'failed')
  range = `from=${h.data.start}&to=${h.data.end}`
})
afterAll(() => h?.close())

const countBy = <T>(xs: T[], key: (x: T) => string) => {
  const m = new Map<string, number>()
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1)
  return m
}

describe('auth and transport', () => {
  it('refuses data routes without the bearer token, and with a wrong one', async () => {
    for (const token of [null, 'wrong-token-wrong-token']) {
      const r = await h.get(`/api/v1/failures?${range}`, token)
      expect(r.status).toBe(401)
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
      expect(r.body.error.code).toBe('unauthorized')
    }
    expect((await h.get('/api/v1/openapi.json', null)).status).toBe(401)
    expect((await h.get('/metrics', null)).status).toBe(401)
  })

  it('takes the bearer scheme in any case (RFC 7235)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const r = await fetch(`${h.url}/api/v1/failures?${range}`, { headers: { authorization: `${scheme} ${TOKEN}` } })
      expect(r.status, scheme).toBe(200)
    }
  })

  it('answers /healthz without a token', async () => {
    const r = await h.get('/healthz', null)
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ status: 'ok' })
  })

  it('serves no CORS headers by default', async () => {
    const res = await fetch(`${h.url}/api/v1/rca`, {
      headers: { origin: 'https://evil.example', authorization: `Bearer ${TOKEN}` },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('answers unknown routes with 404 and wrong methods with 405, as JSON', async () => {
    const r = await h.get('/api/v1/nope')
    expect(r.status).toBe(404)
    expect(r.body.error.message).toMatch(/no route for GET \/api\/v1\/nope/)
    const m = await h.post('/api/v1/failures', {})
    expect(m.status).toBe(405)
    expect(m.headers.get('allow')).toBe('GET')
  })

  it('refuses bodies over the limit with 413', async () => {
    const r = await h.post('/api/v1/sql', { sql: `SELECT '${'x'.repeat(300_000)}'` })
    expect(r.status).toBe(413)
    expect(JSON.parse(r.text).error.message).toMatch(/exceeds the limit of 262144 bytes/)
  })

  it('counts requests in /metrics', async () => {
    const r = await h.get('/metrics')
    expect(r.status).toBe(200)
    expect(r.body).toMatch(/connrca_api_requests_total\{route="\/healthz",status="200"\} [1-9]/)
  })
})

describe('GET /api/v1/failures', () => {
  it('counts failures per category per bucket, exactly as stored (latest window revision only)', async () => {
    const r = await h.get(`/api/v1/failures?${range}&step=1h`)
    expect(r.status).toBe(200)
    const body = FailuresResponse.parse(r.body)
    expect(body.step).toBe(3_600_000)
    expect(body.from).toBe(Math.floor(h.data.start / 3_600_000) * 3_600_000)
    expect(body.times.length).toBe(Math.ceil((h.data.end - body.from) / 3_600_000))
    expect(body.total).toBe(failed.length)
    const expected = countBy(failed, (e) => e.category!)
    for (const s of body.series) {
      expect(s.total).toBe(expected.get(s.key))
      expect(s.values.reduce((a, b) => a + b, 0)).toBe(s.total)
    }
    expect(body.series.map((s) => s.key)).toEqual([
      'firewall_deny',
      'auth_fail',
      'tls_reject',
      'limit_reached',
      'transient',
      'user_error',
      'network',
    ])
    // the firewall incident runs from 10 h to 10.75 h into the day; the day starts on a 5-minute
    // boundary, so those 45 minutes fall into one or two hourly buckets: the peak is one of them
    const fw = body.series.find((s) => s.key === 'firewall_deny')!
    const peak = fw.values.indexOf(Math.max(...fw.values))
    const bucket = (hours: number) => Math.floor((h.data.start + hours * 3_600_000 - body.from) / 3_600_000)
    expect([bucket(10), bucket(10.75 - 1 / 3600)]).toContain(peak)
  })

  it('filters by server and category', async () => {
    const r = await h.get(`/api/v1/failures?${range}&server=orders-prod&category=firewall_deny,auth_fail`)
    const body = FailuresResponse.parse(r.body)
    const want = failed.filter(
      (e) => e.server === 'orders-prod' && (e.category === 'firewall_deny' || e.category === 'auth_fail'),
    )
    expect(body.total).toBe(want.length)
    expect(body.series.map((s) => s.key).sort()).toEqual(['auth_fail', 'firewall_deny'])
  })

  it('groups by server with the rest folded into (other)', async () => {
    const body = FailuresResponse.parse((await h.get(`/api/v1/failures?${range}&groupBy=server&limit=2`)).body)
    const per = [...countBy(failed, (e) => e.server).entries()].sort((a, b) => b[1] - a[1])
    expect(body.series.map((s) => s.key)).toEqual([per[0][0], per[1][0], '(other)'])
    expect(body.series[0].total).toBe(per[0][1])
    expect(body.total).toBe(failed.length)
  })

  it('groups by reason and by client ip from the raw events', async () => {
    const byReason = FailuresResponse.parse((await h.get(`/api/v1/failures?${range}&groupBy=reason`)).body)
    const reasons = countBy(failed, (e) => e.reason!)
    for (const s of byReason.series) expect(s.total).toBe(reasons.get(s.key))
    expect(byReason.series.find((s) => s.key === 'password_auth_failed')?.category).toBe('auth_fail')

    const byClient = FailuresResponse.parse((await h.get(`/api/v1/failures?${range}&groupBy=client&limit=1`)).body)
    const clients = [...countBy(failed, (e) => e.clientIp!).entries()].sort((a, b) => b[1] - a[1])
    expect(byClient.series[0]).toMatchObject({ key: clients[0][0], total: clients[0][1] })
    expect(byClient.total).toBe(failed.length)
  })

  it('picks a step no finer than the window and bounded ranges', async () => {
    const auto = FailuresResponse.parse((await h.get(`/api/v1/failures?from=now-1h`)).body)
    expect(auto.step).toBe(300_000)
    const week = FailuresResponse.parse((await h.get(`/api/v1/failures?from=now-7d`)).body)
    expect(week.step).toBe(3_600_000)
  })

  it('rejects bad parameters with one clear message', async () => {
    const cases: [string, RegExp][] = [
      ['category=firewall', /query\.category\.0: Invalid option/],
      ['groupBy=user', /query\.groupBy/],
      ['from=yesterday', /query\.from: cannot read "yesterday" as a time/],
      [`from=${h.data.end}&to=${h.data.start}`, /query\.from: must be before query\.to/],
      ['from=now-40d', /spans 40 days; the limit is 31 days \(api\.maxRangeDays\)/],
      ['from=now-30d&step=1m', /gives 4320\d buckets; the limit is 2000/],
      ['step=fast', /query\.step/],
      ['limit=1000', /query\.limit/],
    ]
    for (const [q, msg] of cases) {
      const r = await h.get(`/api/v1/failures?${q}`)
      expect(r.status, q).toBe(400)
      expect(r.body.error.message, q).toMatch(msg)
      expect(r.body.error.message).not.toMatch(/\n|at .*\.ts/)
    }
  })

  it('treats SQL-looking input as plain values', async () => {
    const r = await h.get(`/api/v1/failures?${range}&server=${encodeURIComponent("x' OR 1=1 --")}`)
    expect(r.status).toBe(200)
    expect(r.body.total).toBe(0)
  })
})

describe('GET /api/v1/failure-ratio', () => {
  it('divides failures by received connections, overall and per server', async () => {
    const body = RatioResponse.parse((await h.get(`/api/v1/failure-ratio?${range}&limit=2`)).body)
    const received = h.data.connectionEvents.filter((e) => e.outcome === 'received')
    expect(body.overall.failures).toBe(failed.length)
    expect(body.overall.attempts).toBe(received.length)
    expect(body.overall.ratio).toBeCloseTo(failed.length / received.length, 10)
    expect(body.servers.length).toBe(2)
    const orders = failed.filter((e) => e.server === body.servers[0].server).length
    expect(body.servers[0].failures).toBe(orders)
    for (const v of body.overall.values) if (v !== null) expect(v).toBeGreaterThanOrEqual(0)
  })
})

describe('GET /api/v1/top', () => {
  it('ranks servers by failures with a per-category breakdown', async () => {
    const body = TopResponse.parse((await h.get(`/api/v1/top?${range}&by=server`)).body)
    const per = [...countBy(failed, (e) => e.server).entries()].sort((a, b) => b[1] - a[1])
    expect(body.rows.map((r) => [r.value, r.failures])).toEqual(per)
    const orders = body.rows.find((r) => r.value === 'orders-prod')!
    expect(orders.byCategory.firewall_deny).toBe(
      failed.filter((e) => e.server === 'orders-prod' && e.category === 'firewall_deny').length,
    )
    expect(body.total).toBe(failed.length)
  })

  it('ranks client ips, users and databases from the raw events', async () => {
    for (const [by, key] of [
      ['client', (e: ConnectionEvent) => e.clientIp!],
      ['user', (e: ConnectionEvent) => e.user!],
      ['database', (e: ConnectionEvent) => e.database!],
    ] as const) {
      const body = TopResponse.parse((await h.get(`/api/v1/top?${range}&by=${by}&limit=3`)).body)
      const per = [...countBy(failed.filter(key), key).entries()].sort(
        (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
      )
      expect(
        body.rows.map((r) => [r.value, r.failures]),
        by,
      ).toEqual(per.slice(0, 3))
    }
    const clients = TopResponse.parse((await h.get(`/api/v1/top?${range}&by=client&category=network`)).body)
    // app servers talk to every database: their resets show up on several servers
    expect(Math.max(...clients.rows.map((r) => r.servers ?? 0))).toBeGreaterThan(1)
  })
})

describe('RCA events', () => {
  it('lists the latest revision of each incident, newest first, with filters', async () => {
    const body = RcaListResponse.parse((await h.get(`/api/v1/rca?${range}&limit=500`)).body)
    const ids = new Set(h.data.rcaEvents.map((e) => e.id))
    expect(body.total).toBe(ids.size)
    expect(new Set(body.events.map((e) => e.id)).size).toBe(body.events.length)
    const last = body.events.map((e) => e.lastFailure)
    expect(last).toEqual([...last].sort((a, b) => b - a))
    const fw = body.events.find((e) => e.category === 'firewall_deny')!
    expect(fw.status).toBe('resolved')
    expect(fw.revision).toBeGreaterThan(1)
    expect(fw.suggestion?.cidr).toBe('81.2.69.0/24')
    expect(fw.steps.length).toBeGreaterThan(0)

    const recurring = RcaListResponse.parse(
      (await h.get(`/api/v1/rca?${range}&server=billing-prod&persistence=recurring&status=resolved`)).body,
    )
    expect(recurring.total).toBeGreaterThan(3)
    expect(recurring.events.every((e) => e.server === 'billing-prod' && e.persistence === 'recurring')).toBe(true)

    const page = RcaListResponse.parse((await h.get(`/api/v1/rca?${range}&limit=2&offset=1`)).body)
    expect(page.events.map((e) => e.id)).toEqual(body.events.slice(1, 3).map((e) => e.id))
  })

  it('returns one event with windows, evidence, stored window counts and revisions', async () => {
    const fw = h.data.rcaEvents.filter((e) => e.category === 'firewall_deny').at(-1)!
    const r = await h.get(`/api/v1/rca/${encodeURIComponent(fw.id)}`)
    expect(r.status).toBe(200)
    const body = RcaDetailResponse.parse(r.body)
    expect(body.event).toEqual(fw)
    // merges keep only the latest revision, so history is what the table still holds
    expect(body.revisions.at(-1)).toMatchObject({ revision: fw.revision, status: 'resolved', count: fw.count })
    expect(body.windowCounts.length).toBe(fw.windows.length)
    expect(body.windowCounts.reduce((a, w) => a + w.failures, 0)).toBe(fw.count)
  })

  it('answers 404 for an unknown id', async () => {
    const r = await h.get('/api/v1/rca/does-not-exist')
    expect(r.status).toBe(404)
    expect(r.body.error.message).toBe('no RCA event with id "does-not-exist"')
  })
})

describe('GET /api/v1/health', () => {
  it('reports the pipeline, last event times, dead letters and checkpoints', async () => {
    const body = HealthResponse.parse((await h.get('/api/v1/health')).body)
    expect(body.pipeline?.sources[0].lagMs).toBe(1200)
    const lastEvent = Math.max(...h.data.connectionEvents.map((e) => e.time))
    expect(body.store.lastEventTime).toBe(lastEvent)
    expect(body.store.servers.length).toBe(6)
    expect(body.store.deadLetters).toMatchObject({ total: 3, last24h: 2 })
    expect(body.store.deadLetters.byStage.find((s) => s.stage === 'parse')?.count).toBe(2)
    expect(body.store.checkpoints[0]).toMatchObject({ value: '1048576' })
  })
})

describe('OpenAPI document', () => {
  it('describes every route with its parameters', async () => {
    const r = await h.get('/api/v1/openapi.json')
    expect(r.status).toBe(200)
    const doc = r.body
    expect(doc.openapi).toBe('3.1.0')
    for (const p of ['/api/v1/failures', '/api/v1/top', '/api/v1/rca', '/api/v1/rca/{id}', '/api/v1/health']) {
      expect(doc.paths[p]?.get, p).toBeDefined()
    }
    expect(doc.paths['/api/v1/sql'].post.requestBody.content['application/json'].schema.properties.sql).toBeDefined()
    const params = doc.paths['/api/v1/failures'].get.parameters.map((p: { name: string }) => p.name)
    expect(params).toEqual(expect.arrayContaining(['from', 'to', 'step', 'groupBy', 'server', 'category']))
    const cat = doc.paths['/api/v1/failures'].get.parameters.find((p: { name: string }) => p.name === 'category')
    expect(JSON.stringify(cat.schema)).toContain('firewall_deny')
    expect(doc.paths['/healthz'].get.security).toEqual([])
  })
})

describe('configuration and errors', () => {
  it('refuses to listen on a reachable address without a token', () => {
    expect(() => createApiServer({ store: h.store, config: { host: '0.0.0.0' } })).toThrow(ApiConfigError)
    expect(() => createApiServer({ store: h.store, config: { host: '0.0.0.0' } })).toThrow(
      /api.host: 0.0.0.0 is not loopback, so api.token/,
    )
    expect(() => createApiServer({ store: h.store, config: { host: '127.0.0.1', port: 0 } })).not.toThrow()
  })

  it('answers internal errors without a stack trace, and CORS only for configured origins', async () => {
    const broken: Store = {
      ...h.store,
      readQuery: () => Promise.reject(new Error('boom at /secret/path/file.ts:12:3\n    at Object.<anonymous>')),
    }
    const errors: unknown[] = []
    const api = createApiServer({
      store: broken,
      config: { port: 0, cors: ['https://ops.example'] },
      onError: (e) => errors.push(e),
    })
    const { url } = await api.listen()
    try {
      const res = await fetch(`${url}/api/v1/rca`, { headers: { origin: 'https://ops.example' } })
      expect(res.status).toBe(500)
      expect(res.headers.get('access-control-allow-origin')).toBe('https://ops.example')
      const text = await res.text()
      expect(JSON.parse(text)).toEqual({
        error: { code: 'internal', message: 'internal error; the server log has the details' },
      })
      expect(text).not.toMatch(/secret|boom/)
      expect(errors.length).toBe(1)
      const pre = await fetch(`${url}/api/v1/rca`, { method: 'OPTIONS', headers: { origin: 'https://ops.example' } })
      expect(pre.status).toBe(204)
      const other = await fetch(`${url}/api/v1/rca`, { method: 'OPTIONS', headers: { origin: 'https://x.example' } })
      expect(other.headers.get('access-control-allow-origin')).toBeNull()
    } finally {
      await api.close()
    }
  })

  it('bounds every query in time and answers 503 when ClickHouse stops it', async () => {
    const seen: string[] = []
    const slow: Store = {
      ...h.store,
      readQuery: (sql: string) => {
        seen.push(sql)
        return Promise.reject(Object.assign(new Error('Timeout exceeded: elapsed 30.1 seconds'), { code: '159' }))
      },
    }
    const api = createApiServer({ store: slow, config: { port: 0 }, onError: () => {} })
    const { url } = await api.listen()
    try {
      const res = await fetch(`${url}/api/v1/top`)
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
        /longer than 30 s; narrow the time range/,
      )
      expect(seen[0]).toMatch(/SETTINGS max_execution_time = 30, timeout_overflow_mode = 'throw'$/)
    } finally {
      await api.close()
    }
  })
})

// Last in this file: it adds rows to the shared store, which the tests above count.
describe('GET /api/v1/top, ties', () => {
  it('orders equal counts as the SQL that chose them and `connrca analyze` do: by code unit, not by locale', async () => {
    // a day of its own, after the sample data: two users with one failure each
    const t = h.data.end + 86_400_000
    const base = failed[0]
    await h.store.insertConnectionEvents(
      ['amy', 'Zed'].map((user, i) => ({ ...base, id: `tie-${user}`, time: t + i, user })),
    )
    const body = TopResponse.parse((await h.get(`/api/v1/top?from=${t}&to=${t + 60_000}&by=user`)).body)
    expect(body.rows.map((r) => r.value)).toEqual(['Zed', 'amy'])
  })
})
