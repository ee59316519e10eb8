/**
 * A realistic day of a small fleet, generated deterministically: raw connection events, the
 * window counts an aggregator would derive from them, a few incidents, dead letters.
 * Patterns: a firewall incident on orders-prod, recurring password failures on billing-prod,
 * a restart on analytics-replica, a connection-limit spike, TLS 1.1 clients on crm-prod,
 * a dropped database still used by a job on inventory-staging, network noise everywhere.
 */
import type { Category, ConnectionEvent, DeadLetter, RcaEvent, TopEntry, WindowCount } from '@connrca/contracts'
import { putCheckpoint, type Store } from '@connrca/store'

export const WINDOW_MS = 5 * 60_000
const DAY = 86_400_000

export const SERVERS = [
  'orders-prod',
  'billing-prod',
  'analytics-replica',
  'crm-prod',
  'inventory-staging',
  'auth-svc-db',
] as const

interface FailureKind {
  category: Category
  reason: string
  sqlstate: string
  message: (c: { user: string; database: string; ip: string }) => string
}

const KINDS: Record<string, FailureKind> = {
  firewall: {
    category: 'firewall_deny',
    reason: 'no_hba_entry_ssl_on',
    sqlstate: '28000',
    message: (c) =>
      `no pg_hba.conf entry for host "${c.ip}", user "${c.user}", database "${c.database}", SSL encryption`,
  },
  password: {
    category: 'auth_fail',
    reason: 'password_auth_failed',
    sqlstate: '28P01',
    message: (c) => `password authentication failed for user "${c.user}"`,
  },
  startup: {
    category: 'transient',
    reason: 'starting_up',
    sqlstate: '57P03',
    message: () => 'the database system is starting up',
  },
  limit: {
    category: 'limit_reached',
    reason: 'too_many_clients',
    sqlstate: '53300',
    message: () => 'sorry, too many clients already',
  },
  tls: {
    category: 'tls_reject',
    reason: 'unsupported_protocol',
    sqlstate: '08P01',
    message: () => 'could not accept SSL connection: unsupported protocol',
  },
  nodb: {
    category: 'user_error',
    reason: 'database_does_not_exist',
    sqlstate: '3D000',
    message: (c) => `database "${c.database}" does not exist`,
  },
  reset: {
    category: 'network',
    reason: 'connection_reset',
    sqlstate: '08006',
    message: () => 'could not receive data from client: Connection reset by peer',
  },
}

/** Small deterministic PRNG (mulberry32): the same day every run. */
function rng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface SampleData {
  start: number
  end: number
  connectionEvents: ConnectionEvent[]
  windowCounts: WindowCount[]
  rcaEvents: RcaEvent[]
  deadLetters: DeadLetter[]
}

/** A day of data ending at `end` (aligned down to a window). */
export function generateSampleData(endTime: number): SampleData {
  const end = Math.floor(endTime / WINDOW_MS) * WINDOW_MS
  const start = end - DAY
  const rand = rng(42)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]
  const poisson = (mean: number) => {
    // Knuth; means here are small
    const l = Math.exp(-mean)
    let k = 0
    let p = 1
    do {
      k++
      p *= rand()
    } while (p > l)
    return k - 1
  }
  const events: ConnectionEvent[] = []
  let seq = 0
  const at = (w: number) => w + Math.floor(rand() * WINDOW_MS)
  const received = (server: string, time: number, ip: string, port: number) => {
    events.push({
      id: `ev-${++seq}`,
      server,
      time,
      outcome: 'received',
      clientIp: ip,
      clientPort: port,
      message: `connection received: host=${ip} port=${port}`,
      source: { kind: 'file', name: `/var/log/postgresql/${server}.log`, position: seq * 120 },
    })
  }
  const fail = (server: string, w: number, kind: FailureKind, ip: string, user: string, database: string) => {
    const time = at(w)
    const port = 30_000 + Math.floor(rand() * 30_000)
    received(server, time - 3, ip, port)
    events.push({
      id: `ev-${++seq}`,
      server,
      time,
      outcome: 'failed',
      category: kind.category,
      reason: kind.reason,
      sqlstate: kind.sqlstate,
      user,
      database,
      clientIp: ip,
      clientPort: port,
      application: user === 'billing_app' ? 'billing-worker' : 'psql',
      pid: 1000 + Math.floor(rand() * 60_000),
      message: kind.message({ user, database, ip }),
      source: { kind: 'file', name: `/var/log/postgresql/${server}.log`, position: seq * 120 },
    })
  }
  const appIps = ['10.0.1.12', '10.0.1.13', '10.0.2.40', '10.0.2.41', '10.0.3.7']
  const hour = (w: number) => (w - start) / 3_600_000

  for (let w = start; w < end; w += WINDOW_MS) {
    const h = hour(w)
    const daytime = 0.6 + 0.4 * Math.sin(((h - 6) / 24) * 2 * Math.PI)
    for (const server of SERVERS) {
      // healthy traffic: the denominator of the failure ratio
      const ok = poisson(14 * daytime)
      for (let i = 0; i < ok; i++) received(server, at(w), pick(appIps), 40_000 + i)
      if (rand() < 0.08) fail(server, w, KINDS.reset, pick(appIps), 'app', 'app')
    }
    // orders-prod: a firewall change locks out a client range for 45 minutes, 10 h into the day
    if (h >= 10 && h < 10.75) {
      const n = 30 + poisson(12)
      for (let i = 0; i < n; i++) {
        fail('orders-prod', w, KINDS.firewall, `81.2.69.${10 + Math.floor(rand() * 200)}`, 'orders_api', 'orders')
      }
    }
    if (rand() < 0.05) fail('orders-prod', w, KINDS.password, pick(appIps), 'orders_api', 'orders')
    // billing-prod: a worker with a rotated password retries at the top of every third hour
    if (Math.floor(h) % 3 === 0 && h - Math.floor(h) < 0.25) {
      const n = 6 + poisson(4)
      for (let i = 0; i < n; i++) fail('billing-prod', w, KINDS.password, '10.0.4.21', 'billing_app', 'billing')
    }
    // analytics-replica: restart around hour 16
    if (h >= 16 && h < 16.2) {
      const n = 12 + poisson(5)
      for (let i = 0; i < n; i++) fail('analytics-replica', w, KINDS.startup, pick(appIps), 'bi_reader', 'analytics')
    }
    // auth-svc-db: a connection leak fills max_connections around hour 20
    if (h >= 20 && h < 20.5) {
      const n = 10 + poisson(8)
      for (let i = 0; i < n; i++) fail('auth-svc-db', w, KINDS.limit, pick(appIps), 'auth', 'auth')
    }
    // crm-prod: an old reporting tool speaks TLS 1.1: now and then all day, in bulk for its nightly export
    const tlsClient = () => `203.0.113.${40 + Math.floor(rand() * 4)}`
    if (rand() < 0.3) fail('crm-prod', w, KINDS.tls, tlsClient(), 'report', 'crm')
    if (h >= 2 && h < 2.75) {
      const n = 6 + poisson(3)
      for (let i = 0; i < n; i++) fail('crm-prod', w, KINDS.tls, tlsClient(), 'report', 'crm')
    }
    // inventory-staging: a cron job still points at a dropped database
    if ((w / WINDOW_MS) % 6 === 0) fail('inventory-staging', w, KINDS.nodb, '10.0.5.9', 'etl', 'inventory_old')
  }
  events.sort((a, b) => a.time - b.time)
  const windowCounts = deriveWindowCounts(events)
  return {
    start,
    end,
    connectionEvents: events,
    windowCounts,
    rcaEvents: withFleetPeer(deriveIncidents(windowCounts)),
    deadLetters: [
      {
        id: 'dl-1',
        stage: 'parse',
        reason: 'line does not match log_line_prefix "%m [%p] %q%u@%d "',
        raw: 'garbage line',
        server: 'orders-prod',
        time: end - 3_600_000,
      },
      { id: 'dl-2', stage: 'parse', reason: 'truncated csvlog record', raw: '2024-01-0', time: end - 600_000 },
      { id: 'dl-3', stage: 'classify', reason: 'no server name', raw: '{}', time: end - 2 * DAY },
    ],
  }
}

function top(counts: Map<string, number>, n = 5): TopEntry[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([value, count]) => ({ value, count }))
}

function bump(m: Map<string, number>, k: string | undefined) {
  if (k) m.set(k, (m.get(k) ?? 0) + 1)
}

/** What the aggregator would store: failures per server x category x window, attempts per server x window. */
export function deriveWindowCounts(events: ConnectionEvent[]): WindowCount[] {
  const attempts = new Map<string, number>()
  type Acc = WindowCount & {
    r: Map<string, number>
    c: Map<string, number>
    u: Map<string, number>
    d: Map<string, number>
  }
  const acc = new Map<string, Acc>()
  for (const e of events) {
    const w = Math.floor(e.time / WINDOW_MS) * WINDOW_MS
    if (e.outcome === 'received') {
      const k = `${e.server}|${w}`
      attempts.set(k, (attempts.get(k) ?? 0) + 1)
      continue
    }
    if (e.outcome !== 'failed' || !e.category) continue
    const key = `${e.server}|${e.category}|${w}`
    let a = acc.get(key)
    if (!a) {
      a = {
        server: e.server,
        category: e.category,
        windowStart: w,
        windowEnd: w + WINDOW_MS,
        failures: 0,
        attempts: 0,
        distinctClients: 0,
        firstFailure: e.time,
        lastFailure: e.time,
        reasons: [],
        topClients: [],
        topUsers: [],
        topDatabases: [],
        revision: 1,
        r: new Map(),
        c: new Map(),
        u: new Map(),
        d: new Map(),
      }
      acc.set(key, a)
    }
    a.failures++
    a.firstFailure = Math.min(a.firstFailure, e.time)
    a.lastFailure = Math.max(a.lastFailure, e.time)
    bump(a.r, e.reason)
    bump(a.c, e.clientIp)
    bump(a.u, e.user)
    bump(a.d, e.database)
  }
  return [...acc.values()].map(({ r, c, u, d, ...w }) => ({
    ...w,
    attempts: attempts.get(`${w.server}|${w.windowStart}`) ?? w.failures,
    distinctClients: c.size,
    reasons: top(r),
    topClients: top(c),
    topUsers: top(u),
    topDatabases: top(d),
  }))
}

const STEPS: Partial<Record<Category, string[]>> = {
  firewall_deny: [
    'Add a server firewall rule that admits the client range below, or connect through the private endpoint.',
    'Firewall changes can take up to five minutes to apply; retry after that before digging further.',
    'Check that the client connects with the server FQDN, not a cached IP address.',
  ],
  auth_fail: [
    'Confirm the password the client uses; it was likely rotated without updating the application secret.',
    'Look for a retry loop: the failures come back at a fixed interval from one address.',
  ],
  transient: [
    'Add retry with backoff to the client: these errors clear on their own once the server is up.',
    'If restarts are unexpected, check the server activity log for maintenance or failover.',
  ],
  limit_reached: [
    'Put a connection pooler (PgBouncer) in front of the server or lower the pool sizes of the clients.',
    'Look for idle sessions holding connections: SELECT state, count(*) FROM pg_stat_activity GROUP BY 1.',
  ],
  tls_reject: [
    'Upgrade the client driver: the server accepts TLS 1.2 and newer only.',
    'Find the client by its address below; older JDBC and .NET drivers default to TLS 1.0/1.1.',
  ],
}

const TEXT: Partial<Record<Category, string>> = {
  firewall_deny: 'because no firewall rule admits the clients',
  auth_fail: 'because the password was rejected',
  transient: 'while the server was starting up',
  limit_reached: 'because the server had no free connection slots',
  tls_reject: 'because the clients offered a TLS version older than 1.2',
}

const TITLE: Partial<Record<Category, string>> = {
  firewall_deny: 'Firewall rules block clients',
  auth_fail: 'Password authentication keeps failing',
  transient: 'Connections refused during a restart',
  limit_reached: 'Connection slots exhausted',
  tls_reject: 'Clients rejected for old TLS versions',
}

const fmt = (t: number) => new Date(t).toISOString().slice(11, 16)

/**
 * Incidents: runs of consecutive windows at or above 5 failures for one server and category,
 * written as two revisions (opened, then the final state) so readers must pick the latest.
 */
export function deriveIncidents(windows: WindowCount[]): RcaEvent[] {
  const groups = new Map<string, WindowCount[]>()
  for (const w of windows) {
    if (!TEXT[w.category] || w.failures < 5) continue
    const k = `${w.server}|${w.category}`
    const list = groups.get(k) ?? []
    list.push(w)
    groups.set(k, list)
  }
  const out: RcaEvent[] = []
  for (const list of groups.values()) {
    list.sort((a, b) => a.windowStart - b.windowStart)
    let run: WindowCount[] = []
    const flush = (isLast: boolean) => {
      if (run.length) out.push(...incident(run, isLast))
      run = []
    }
    for (const w of list) {
      if (run.length && w.windowStart - run[run.length - 1].windowEnd > WINDOW_MS) flush(false)
      run.push(w)
    }
    flush(true)
  }
  return out
}

function incident(run: WindowCount[], isLast: boolean): RcaEvent[] {
  const first = run[0]
  const last = run[run.length - 1]
  const count = run.reduce((a, w) => a + w.failures, 0)
  const attempts = run.reduce((a, w) => a + w.attempts, 0)
  const merge = (pickList: (w: WindowCount) => TopEntry[]) => {
    const m = new Map<string, number>()
    for (const w of run) for (const e of pickList(w)) m.set(e.value, (m.get(e.value) ?? 0) + e.count)
    return top(m)
  }
  const topClients = merge((w) => w.topClients)
  const persistence =
    first.category === 'transient' ? 'transient' : first.category === 'auth_fail' ? 'recurring' : 'persistent'
  const severity = count >= 200 ? 'critical' : count >= 40 ? 'warning' : 'info'
  const id = `rca-${first.server}-${first.category}-${first.windowStart}`
  const base: RcaEvent = {
    schema: 'connrca.rca.v1',
    id,
    revision: 1,
    status: 'open',
    server: first.server,
    category: first.category,
    count: run[0].failures,
    attempts: run[0].attempts,
    firstFailure: first.firstFailure,
    lastFailure: first.lastFailure,
    windows: run.map((w) => ({ start: w.windowStart, end: w.windowEnd, failures: w.failures })),
    reasons: merge((w) => w.reasons),
    topClients,
    topUsers: merge((w) => w.topUsers),
    topDatabases: merge((w) => w.topDatabases),
    sampleMessages: [],
    persistence,
    severity,
    title: `${TITLE[first.category]} on ${first.server}`,
    text: '',
    steps: STEPS[first.category] ?? [],
    emittedAt: first.windowEnd,
  }
  const text = `${count} connection attempts to ${first.server} failed between ${fmt(first.firstFailure)} and ${fmt(
    last.lastFailure,
  )} UTC ${TEXT[first.category]}.`
  const opened = { ...base, text: `${run[0].failures} connection attempts to ${first.server} failed so far.` }
  const final: RcaEvent = {
    ...base,
    revision: run.length + 1,
    status: isLast && first.category === 'tls_reject' ? 'updated' : 'resolved',
    count,
    attempts,
    lastFailure: last.lastFailure,
    text,
    emittedAt: last.windowEnd + WINDOW_MS,
  }
  if (first.category === 'firewall_deny') {
    const ips = topClients.map((c) => c.value).sort()
    final.suggestion = {
      kind: 'firewall_rule',
      startIp: '81.2.69.0',
      endIp: '81.2.69.255',
      cidr: '81.2.69.0/24',
      note: `admits the ${ips.length}+ denied clients seen`,
    }
    final.hypotheses = [
      {
        version: 1,
        id: 'new_clients',
        title: 'new clients or a moved egress address',
        text: `${ips.length} of the ${ips.length} denied addresses never logged in before.`,
        score: 0.95,
        evidence: { addresses: ips.length, attempts: count },
        fleetKey: 'net:81.2.69.0/24',
        clients: ips,
        steps: ['Confirm the clients are expected.'],
      },
      {
        version: 1,
        id: 'rule_removed',
        title: 'a rule that admitted them was removed',
        text: '0 of the denied addresses logged in before.',
        score: 0.3,
        evidence: { addresses: 0 },
        clients: [],
        steps: [],
      },
    ]
  }
  return [opened, final]
}

function withFleetPeer(events: RcaEvent[]): RcaEvent[] {
  return [fleetPeer(events), ...events]
}

/** The same denied /24 on a second server: with orders-prod's incident, a fleet incident. */
export function fleetPeer(events: RcaEvent[]): RcaEvent {
  const fw = events.filter((e) => e.server === 'orders-prod' && e.category === 'firewall_deny' && e.hypotheses).at(-1)!
  return {
    ...fw,
    id: `${fw.id}-peer`,
    server: 'crm-prod',
    title: 'Firewall rules block clients on crm-prod',
    count: 40,
  }
}

/** Inserts the sample through the store API; a stale revision of one window shows FINAL at work. */
export async function loadSampleData(store: Store, data: SampleData): Promise<void> {
  await store.insertConnectionEvents(data.connectionEvents)
  const stale = data.windowCounts
    .filter((w) => w.server === 'orders-prod' && w.category === 'firewall_deny')
    .slice(0, 3)
    .map((w) => ({ ...w, failures: 1, revision: 0 }))
  await store.insertWindowCounts(stale)
  await store.insertWindowCounts(data.windowCounts)
  await store.insertRcaEvents(data.rcaEvents)
  await store.insertDeadLetters(data.deadLetters)
  await putCheckpoint(store, 'source:file:/var/log/postgresql/orders-prod.log', '1048576')
}
