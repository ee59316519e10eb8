import type { Category, ConnectionEvent } from '@connrca/contracts'
import { CATEGORIES } from '@connrca/contracts'

/**
 * Watches every connection event of every server and keeps what a diagnosis needs beyond the
 * window counts: who logged in from where before an incident, which addresses were ever admitted,
 * how many sessions were open (connection / disconnection pairs), and per window-sized bucket the
 * failures by client × user, application and TLS protocol. Clock-free and deterministic: the same
 * events in the same order give the same state; `snapshot()` / `restore()` carry it across restarts.
 *
 * Bounds (per server): `maxKnown` logins (user × client) and `maxKnown` admitted addresses (the
 * least recently seen are dropped first), `maxSessions` open sessions (the oldest first), buckets of
 * the last `retainMs` of event time, and per failure bucket `maxPerBucket` clients and users (further
 * ones are counted in `overflow`), 64 users per client, 16 applications and TLS protocols.
 */
export interface EvidenceOptions {
  /** Bucket length: the window length, so an incident's windows map onto whole buckets. */
  bucketMs: number
  /** Event time kept (default 26 h: a day of incident plus lateness). */
  retainMs?: number
  maxKnown?: number
  maxSessions?: number
  maxPerBucket?: number
}

export interface ClientFailures {
  n: number
  users: Map<string, number>
}

/** Failures of one category in one bucket (or merged over an incident). */
export interface FailureAgg {
  n: number
  first: number
  last: number
  clients: Map<string, ClientFailures>
  users: Map<string, number>
  apps: Map<string, number>
  tls: Map<string, number>
  /** pg_hba.conf lines the failures matched (DETAIL of authentication failures). */
  hba: Map<string, number>
  /** TLS versions the server said it accepts (HINT of refused handshakes). */
  serverTls: Map<string, number>
  reasons: Map<string, number>
  /** Failures whose client did not fit the bucket's client map. */
  overflow: number
}

interface Bucket {
  start: number
  /** Most sessions open at once in the bucket, and who held them at that moment. */
  peak: number
  peakApps: [string, number][]
  peakUsers: [string, number][]
  authorized: number
  /** user -> client -> successful logins in the bucket */
  logins: Map<string, Map<string, number>>
  fails: Map<Category, FailureAgg>
}

/** first and last successful login, count */
type Seen = [number, number, number]

interface Session {
  app: string
  user: string
}

/** A run of transient refusals and the first login after it. */
export interface Recovery {
  /** First refusal of the run (`shutting down`, `starting up`, recovery). */
  down: number
  lastRefusal: number
  /** First successful login after the run; undefined while the server still refuses. */
  resumed?: number
  refusals: number
  reasons: Record<string, number>
}

/** A count kept in a box: bumping an existing key is one map lookup, not a get and a set. */
interface Count {
  n: number
}

interface ServerEvidence {
  /** user -> client -> Seen (nested rather than keyed by `user\0client`: no key string per login) */
  logins: Map<string, Map<string, Seen>>
  /** Entries of `logins`, over all users. */
  loginCount: number
  admitted: Map<string, Seen>
  /** client -> application of its latest session */
  appOf: Map<string, string>
  sessions: Map<number, Session>
  /** Open sessions per application and per user (no zero entries). */
  openApps: Map<string, Count>
  openUsers: Map<string, Count>
  open: number
  buckets: Map<number, Bucket>
  latest: number
  recoveries: Recovery[]
}

/** What the collector knows about one incident: the buckets it spans, the state before it. */
export interface IncidentEvidence {
  server: string
  category: Category
  start: number
  end: number
  failures: FailureAgg
  /** user -> client -> successful logins during the incident */
  loginsDuring: Map<string, Map<string, number>>
  authorizedDuring: number
  /** Whether `user` logged in from `client` before `t`. */
  loggedInBefore(user: string, client: string, t: number): boolean
  /** Whether any login from `client` succeeded before `t`. */
  admittedBefore(client: string, t: number): boolean
  appOf(client: string): string | undefined
  /** Session peak during the incident, and in the hour before it (its lowest bucket peak). */
  peakDuring?: { peak: number; apps: [string, number][]; users: [string, number][] }
  peakBefore?: { peak: number; apps: [string, number][]; users: [string, number][] }
  /** Transient runs overlapping the incident, as known by `asOf`. */
  recoveries: Recovery[]
}

const USERS_PER_CLIENT = 64
const SMALL_MAP = 16
const PEAK_TOP = 10
const RECOVERIES = 50
/** A pause longer than this between refusals starts a new transient run. */
const RUN_GAP_MS = 5 * 60_000

const key = (user: string, client: string) => `${user}\u0000${client}`

/** user and client of a key(): a client (an address) holds no NUL, so the last one separates. */
function splitKey(k: string): [user: string, client: string] {
  const at = k.lastIndexOf('\u0000')
  return [k.slice(0, at), k.slice(at + 1)]
}

/** The nested logins as `[key(user, client), Seen]` entries (snapshots, eviction). */
function flatLogins(logins: Map<string, Map<string, Seen>>): [string, Seen][] {
  const out: [string, Seen][] = []
  for (const [u, m] of logins) for (const [c, v] of m) out.push([key(u, c), v])
  return out
}

/** One more sighting at `t` of a key already known. */
function seenAgain(v: Seen, t: number): void {
  if (t < v[0]) v[0] = t
  if (t > v[1]) v[1] = t
  v[2]++
}

/** Eviction order of see() and seeLogin(): last seen first, ties by key. */
function leastRecentFirst(a: [string, Seen], b: [string, Seen]): number {
  return a[1][1] - b[1][1] || (a[0] < b[0] ? -1 : 1)
}

function up(m: Map<string, Count>, k: string): void {
  const c = m.get(k)
  if (c) c.n++
  else m.set(k, { n: 1 })
}

function down(m: Map<string, Count>, k: string): void {
  const c = m.get(k)
  if (c && --c.n === 0) m.delete(k)
}

function bump(m: Map<string, number>, k: string, cap: number, by = 1): boolean {
  const v = m.get(k)
  if (v !== undefined) {
    m.set(k, v + by)
    return true
  }
  if (m.size >= cap) return false
  m.set(k, by)
  return true
}

function topOf(m: Map<string, Count>, n: number): [string, number][] {
  const out: [string, number][] = []
  for (const [k, v] of m) if (v.n > 0) out.push([k, v.n])
  out.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  if (out.length > n) out.length = n
  return out
}

export function emptyFailures(): FailureAgg {
  return {
    n: 0,
    first: Number.POSITIVE_INFINITY,
    last: Number.NEGATIVE_INFINITY,
    clients: new Map(),
    users: new Map(),
    apps: new Map(),
    tls: new Map(),
    hba: new Map(),
    serverTls: new Map(),
    reasons: new Map(),
    overflow: 0,
  }
}

function mergeFailures(into: FailureAgg, f: FailureAgg): void {
  into.n += f.n
  into.first = Math.min(into.first, f.first)
  into.last = Math.max(into.last, f.last)
  into.overflow += f.overflow
  for (const [ip, c] of f.clients) {
    let t = into.clients.get(ip)
    if (!t) into.clients.set(ip, (t = { n: 0, users: new Map() }))
    t.n += c.n
    for (const [u, n] of c.users) t.users.set(u, (t.users.get(u) ?? 0) + n)
  }
  for (const [m, src] of [
    [into.users, f.users],
    [into.apps, f.apps],
    [into.tls, f.tls],
    [into.hba, f.hba],
    [into.serverTls, f.serverTls],
    [into.reasons, f.reasons],
  ] as const) {
    for (const [k, n] of src) m.set(k, (m.get(k) ?? 0) + n)
  }
}

/** Refusals while the server is down or coming back; terminations of running sessions are not. */
const TRANSIENT_RUN_REASONS = new Set([
  'shutting_down',
  'starting_up',
  'recovery_mode',
  'not_yet_accepting',
  'not_accepting',
])

export class EvidenceCollector {
  private readonly servers = new Map<string, ServerEvidence>()
  private readonly retainMs: number
  private readonly maxKnown: number
  private readonly maxSessions: number
  private readonly maxPerBucket: number

  constructor(private readonly opts: EvidenceOptions) {
    if (!Number.isInteger(opts.bucketMs) || opts.bucketMs <= 0) {
      throw new Error(`evidence: bucketMs must be a positive integer of ms, got ${opts.bucketMs}`)
    }
    this.retainMs = opts.retainMs ?? 26 * 3_600_000
    this.maxKnown = opts.maxKnown ?? 20_000
    this.maxSessions = opts.maxSessions ?? 20_000
    this.maxPerBucket = opts.maxPerBucket ?? 500
  }

  /** Every connection event, before it is windowed. */
  observe(e: ConnectionEvent): void {
    const s = this.server(e.server)
    if (e.time > s.latest) {
      s.latest = e.time
      this.prune(s)
    }
    switch (e.outcome) {
      case 'authorized':
        this.authorized(s, e)
        break
      case 'closed':
        if (e.pid !== undefined) this.endSession(s, e.pid)
        break
      case 'failed':
        this.failed(s, e)
        break
      default:
        break
    }
  }

  private authorized(s: ServerEvidence, e: ConnectionEvent): void {
    const b = this.bucket(s, e.time)
    b.authorized++
    const ip = e.clientIp
    const user = e.user ?? ''
    if (ip !== undefined) {
      this.see(s.admitted, ip, e.time)
      if (e.application) s.appOf.set(ip, e.application)
      if (e.user !== undefined) {
        this.seeLogin(s, e.user, ip, e.time)
        let m = b.logins.get(e.user)
        if (!m) {
          if (b.logins.size >= this.maxPerBucket) m = undefined
          else b.logins.set(e.user, (m = new Map()))
        }
        if (m) bump(m, ip, USERS_PER_CLIENT)
      }
    }
    // a transient run ends with the first login after it
    const r = s.recoveries[s.recoveries.length - 1]
    if (r && r.resumed === undefined && e.time >= r.lastRefusal) r.resumed = e.time
    if (e.pid === undefined) return
    if (s.sessions.has(e.pid)) this.endSession(s, e.pid) // its disconnection was not logged
    const app = e.application ?? ''
    s.sessions.set(e.pid, { app, user })
    s.open++
    up(s.openApps, app)
    up(s.openUsers, user)
    if (s.sessions.size > this.maxSessions) {
      const oldest = s.sessions.keys().next().value as number
      this.endSession(s, oldest)
    }
    if (s.open > b.peak) this.markPeak(s, b)
  }

  private markPeak(s: ServerEvidence, b: Bucket): void {
    b.peak = s.open
    b.peakApps = topOf(s.openApps, PEAK_TOP)
    b.peakUsers = topOf(s.openUsers, PEAK_TOP)
  }

  private endSession(s: ServerEvidence, pid: number): void {
    const x = s.sessions.get(pid)
    if (!x) return
    s.sessions.delete(pid)
    s.open--
    down(s.openApps, x.app)
    down(s.openUsers, x.user)
  }

  private failed(s: ServerEvidence, e: ConnectionEvent): void {
    const cat = e.category
    if (cat === undefined) return
    // a failure ends the backend it happened in (admin termination, broken session)
    if (e.pid !== undefined) this.endSession(s, e.pid)
    if (cat === 'transient') {
      if (e.reason === 'starting_up') {
        // nobody survives a restart: sessions whose disconnection was not logged are gone
        for (const pid of [...s.sessions.keys()]) this.endSession(s, pid)
      }
      if (e.reason === undefined || TRANSIENT_RUN_REASONS.has(e.reason)) this.refusal(s, e)
    }
    const b = this.bucket(s, e.time)
    let f = b.fails.get(cat)
    if (!f) b.fails.set(cat, (f = emptyFailures()))
    f.n++
    if (e.time < f.first) f.first = e.time
    if (e.time > f.last) f.last = e.time
    if (e.reason) bump(f.reasons, e.reason, SMALL_MAP)
    if (e.application) bump(f.apps, e.application, SMALL_MAP)
    else if (e.clientIp !== undefined) {
      const app = s.appOf.get(e.clientIp)
      if (app) bump(f.apps, app, SMALL_MAP)
    }
    if (e.tlsProtocol) bump(f.tls, e.tlsProtocol, SMALL_MAP)
    if (e.hbaLine) bump(f.hba, e.hbaLine, SMALL_MAP)
    if (e.serverTls) bump(f.serverTls, e.serverTls, SMALL_MAP)
    if (e.user !== undefined) bump(f.users, e.user, this.maxPerBucket)
    const ip = e.clientIp ?? ''
    let c = f.clients.get(ip)
    if (!c) {
      if (f.clients.size >= this.maxPerBucket) {
        f.overflow++
        return
      }
      f.clients.set(ip, (c = { n: 0, users: new Map() }))
    }
    c.n++
    if (e.user !== undefined) bump(c.users, e.user, USERS_PER_CLIENT)
  }

  private refusal(s: ServerEvidence, e: ConnectionEvent): void {
    let r = s.recoveries[s.recoveries.length - 1]
    if (!r || r.resumed !== undefined || e.time - r.lastRefusal > RUN_GAP_MS) {
      r = { down: e.time, lastRefusal: e.time, refusals: 0, reasons: {} }
      s.recoveries.push(r)
      if (s.recoveries.length > RECOVERIES) s.recoveries.shift()
    }
    r.refusals++
    if (e.time > r.lastRefusal) r.lastRefusal = e.time
    const reason = e.reason ?? 'unknown'
    r.reasons[reason] = (r.reasons[reason] ?? 0) + 1
  }

  private see(m: Map<string, Seen>, k: string, t: number): void {
    const v = m.get(k)
    if (v) {
      seenAgain(v, t)
      return
    }
    m.set(k, [t, t, 1])
    if (m.size > this.maxKnown) {
      // drop the quarter seen least recently (rare: amortised over maxKnown/4 new entries)
      const byLast = [...m].sort(leastRecentFirst)
      for (let i = 0; i < byLast.length >> 2; i++) m.delete(byLast[i][0])
    }
  }

  /** see() for the nested logins map: same bound, same eviction order (by last, then `user\0client`). */
  private seeLogin(s: ServerEvidence, user: string, client: string, t: number): void {
    let m = s.logins.get(user)
    if (!m) s.logins.set(user, (m = new Map()))
    const v = m.get(client)
    if (v) {
      seenAgain(v, t)
      return
    }
    m.set(client, [t, t, 1])
    if (++s.loginCount > this.maxKnown) {
      const byLast = flatLogins(s.logins).sort(leastRecentFirst)
      for (let i = 0; i < byLast.length >> 2; i++) {
        const [u, c] = splitKey(byLast[i][0])
        const um = s.logins.get(u) as Map<string, Seen>
        um.delete(c)
        if (um.size === 0) s.logins.delete(u)
        s.loginCount--
      }
    }
  }

  private bucket(s: ServerEvidence, t: number): Bucket {
    const start = t - (((t % this.opts.bucketMs) + this.opts.bucketMs) % this.opts.bucketMs)
    let b = s.buckets.get(start)
    if (!b) {
      b = { start, peak: 0, peakApps: [], peakUsers: [], authorized: 0, logins: new Map(), fails: new Map() }
      s.buckets.set(start, b)
      // sessions carried into the bucket count towards its peak
      if (s.open > 0) this.markPeak(s, b)
    }
    return b
  }

  private prune(s: ServerEvidence): void {
    const horizon = s.latest - this.retainMs
    for (const start of s.buckets.keys()) {
      if (start + this.opts.bucketMs > horizon) break // buckets are created in (nearly) time order
      s.buckets.delete(start)
    }
  }

  private server(name: string): ServerEvidence {
    let s = this.servers.get(name)
    if (!s) {
      s = {
        logins: new Map(),
        loginCount: 0,
        admitted: new Map(),
        appOf: new Map(),
        sessions: new Map(),
        openApps: new Map(),
        openUsers: new Map(),
        open: 0,
        buckets: new Map(),
        latest: Number.NEGATIVE_INFINITY,
        recoveries: [],
      }
      this.servers.set(name, s)
    }
    return s
  }

  /**
   * The evidence of one incident: buckets in [start, end), the state before `start`, and
   * transient runs known by `asOf`. Only events before `asOf` (the event time of the revision)
   * count, so the answer does not depend on how far past it the input had been read.
   */
  evidenceFor(server: string, category: Category, start: number, end: number, asOf: number): IncidentEvidence {
    const s = this.server(server)
    const failures = emptyFailures()
    const loginsDuring = new Map<string, Map<string, number>>()
    let authorizedDuring = 0
    let peakDuring: IncidentEvidence['peakDuring']
    let peakBefore: IncidentEvidence['peakBefore']
    const hourBefore = start - 3_600_000
    for (const b of s.buckets.values()) {
      if (b.start >= hourBefore && b.start < start && b.peak > 0) {
        if (!peakBefore || b.peak < peakBefore.peak) peakBefore = { peak: b.peak, apps: b.peakApps, users: b.peakUsers }
      }
      if (b.start < start || b.start >= end) continue
      const f = b.fails.get(category)
      if (f) mergeFailures(failures, f)
      authorizedDuring += b.authorized
      for (const [u, m] of b.logins) {
        let t = loginsDuring.get(u)
        if (!t) loginsDuring.set(u, (t = new Map()))
        for (const [ip, n] of m) t.set(ip, (t.get(ip) ?? 0) + n)
      }
      if (!peakDuring || b.peak > peakDuring.peak) peakDuring = { peak: b.peak, apps: b.peakApps, users: b.peakUsers }
    }
    const recoveries = s.recoveries
      .filter((r) => r.down < asOf && r.lastRefusal >= start - RUN_GAP_MS && r.down < end)
      .map((r) => ({
        ...r,
        reasons: { ...r.reasons },
        resumed: r.resumed !== undefined && r.resumed < asOf ? r.resumed : undefined,
      }))
    return {
      server,
      category,
      start,
      end,
      failures,
      loginsDuring,
      authorizedDuring,
      loggedInBefore: (user, client, t) => (s.logins.get(user)?.get(client)?.[0] ?? Number.POSITIVE_INFINITY) < t,
      admittedBefore: (client, t) => (s.admitted.get(client)?.[0] ?? Number.POSITIVE_INFINITY) < t,
      appOf: (client) => s.appOf.get(client),
      ...(peakDuring && peakDuring.peak > 0 ? { peakDuring } : {}),
      ...(peakBefore ? { peakBefore } : {}),
      recoveries,
    }
  }

  snapshot(): EvidenceSnapshot {
    const servers: EvidenceSnapshot['servers'] = []
    for (const [name, s] of this.servers) {
      servers.push({
        name,
        logins: flatLogins(s.logins),
        admitted: [...s.admitted],
        appOf: [...s.appOf],
        sessions: [...s.sessions].map(([pid, x]) => [pid, x.app, x.user]),
        latest: Number.isFinite(s.latest) ? s.latest : null,
        recoveries: s.recoveries.map((r) => ({ ...r, reasons: { ...r.reasons } })),
        buckets: [...s.buckets.values()].map((b) => ({
          start: b.start,
          peak: b.peak,
          peakApps: b.peakApps,
          peakUsers: b.peakUsers,
          authorized: b.authorized,
          logins: [...b.logins].map(([u, m]) => [u, [...m]]),
          fails: [...b.fails].map(([cat, f]) => [
            cat,
            {
              n: f.n,
              first: f.first,
              last: f.last,
              overflow: f.overflow,
              clients: [...f.clients].map(([ip, c]) => [ip, c.n, [...c.users]]),
              users: [...f.users],
              apps: [...f.apps],
              tls: [...f.tls],
              hba: [...f.hba],
              serverTls: [...f.serverTls],
              reasons: [...f.reasons],
            },
          ]),
        })),
      })
    }
    return JSON.parse(JSON.stringify({ format: 'connrca.evidence.v1', servers }))
  }

  static restore(opts: EvidenceOptions, state: unknown): EvidenceCollector {
    const c = new EvidenceCollector(opts)
    const snap = state as Partial<EvidenceSnapshot> | null
    if (snap?.format !== 'connrca.evidence.v1' || !Array.isArray(snap.servers)) {
      throw new Error('evidence: cannot restore checkpoint: not a connrca.evidence.v1 snapshot')
    }
    for (const x of snap.servers) {
      const s = c.server(x.name)
      for (const [k, v] of x.logins) {
        const [u, client] = splitKey(k)
        let m = s.logins.get(u)
        if (!m) s.logins.set(u, (m = new Map()))
        if (!m.has(client)) s.loginCount++
        m.set(client, [...v] as Seen)
      }
      s.admitted = new Map(x.admitted.map(([k, v]) => [k, [...v] as Seen]))
      s.appOf = new Map(x.appOf)
      for (const [pid, app, user] of x.sessions) {
        s.sessions.set(pid, { app, user })
        s.open++
        up(s.openApps, app)
        up(s.openUsers, user)
      }
      s.latest = x.latest ?? Number.NEGATIVE_INFINITY
      s.recoveries = x.recoveries.map((r) => ({ ...r, reasons: { ...r.reasons } }))
      for (const b of x.buckets) {
        const fails = new Map<Category, FailureAgg>()
        for (const [cat, f] of b.fails) {
          if (!CATEGORIES.includes(cat))
            throw new Error(`evidence: cannot restore checkpoint: unknown category "${cat}"`)
          fails.set(cat, {
            n: f.n,
            first: f.first ?? Number.POSITIVE_INFINITY,
            last: f.last ?? Number.NEGATIVE_INFINITY,
            overflow: f.overflow,
            clients: new Map(f.clients.map(([ip, n, users]) => [ip, { n, users: new Map(users) }])),
            users: new Map(f.users),
            apps: new Map(f.apps),
            tls: new Map(f.tls),
            // absent in checkpoints written before they were collected
            hba: new Map(f.hba ?? []),
            serverTls: new Map(f.serverTls ?? []),
            reasons: new Map(f.reasons),
          })
        }
        s.buckets.set(b.start, {
          start: b.start,
          peak: b.peak,
          peakApps: b.peakApps,
          peakUsers: b.peakUsers,
          authorized: b.authorized,
          logins: new Map(b.logins.map(([u, m]) => [u, new Map(m)])),
          fails,
        })
      }
    }
    return c
  }
}

export interface EvidenceSnapshot {
  format: 'connrca.evidence.v1'
  servers: {
    name: string
    logins: [string, Seen][]
    admitted: [string, Seen][]
    appOf: [string, string][]
    sessions: [number, string, string][]
    latest: number | null
    recoveries: Recovery[]
    buckets: {
      start: number
      peak: number
      peakApps: [string, number][]
      peakUsers: [string, number][]
      authorized: number
      logins: [string, [string, number][]][]
      fails: [
        Category,
        {
          n: number
          first: number | null
          last: number | null
          overflow: number
          clients: [string, number, [string, number][]][]
          users: [string, number][]
          apps: [string, number][]
          tls: [string, number][]
          hba?: [string, number][]
          serverTls?: [string, number][]
          reasons: [string, number][]
        },
      ][]
    }[]
  }[]
}
