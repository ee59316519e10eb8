import type { Category } from '@connrca/contracts'
import { MinHeap } from './heap.js'
import type { Rng } from './prng.js'
import { DEFAULT_REASON, type Template, templateFor } from './templates.js'
import type { InjectedIncident, ServerProfile } from './types.js'

/**
 * One log event before rendering. Streams produce these in time order; the merge stage assigns
 * pids and session line numbers (so independent streams never fight over pids), renders, counts.
 */
export interface SimRecord {
  t: number
  seq: number
  sev: string
  msg: string
  detail?: string
  hint?: string
  statement?: string
  sqlstate: string
  user?: string
  db?: string
  ip?: string
  port?: number
  app?: string
  /** Stream-local session key; sessions of background processes use negative keys. */
  sess: number
  /** The session (process) ends with this record: its pid is freed. */
  last: boolean
  backend: string
  /** ps display / csv command tag */
  cmd: string
  /** Set on the one record per failed attempt that counts. */
  cat?: Category
  reason?: string
  kind: Kind
}

export const Kind = { Other: 0, Received: 1, Authorized: 2, Closed: 3, Failure: 4 } as const
export type Kind = (typeof Kind)[keyof typeof Kind]

const CLIENT = 'client backend'

/**
 * Drives an arrival process: `arrive(t)` pushes the records of one arrival (a session or an
 * attempt, possibly spanning seconds) into a heap; records come out in time order.
 */
function* schedule(
  rng: Rng,
  start: number,
  end: number,
  meanGapMs: number,
  arrive: (t: number, push: (r: SimRecord) => void) => void,
  initial: SimRecord[] = [],
): Generator<SimRecord> {
  const heap = new MinHeap<SimRecord>()
  let seq = 0
  const push = (r: SimRecord) => {
    r.seq = seq++
    heap.push(r)
  }
  for (const r of initial) push(r)
  if (!(meanGapMs > 0 && Number.isFinite(meanGapMs))) {
    while (heap.size) yield heap.pop()!
    return
  }
  let next = start + rng.exp(meanGapMs)
  for (;;) {
    while (heap.size && heap.peek()!.t <= next) yield heap.pop()!
    if (next >= end) break
    arrive(Math.floor(next), push)
    next += rng.exp(meanGapMs)
  }
  while (heap.size) yield heap.pop()!
}

/** Who a record is about; shared by the records of one session (never mutated). */
interface Who {
  ip?: string
  port?: number
  user?: string
  db?: string
  app?: string
}

const NOBODY: Who = {}

/** Every record has the same shape (fast property access in the merge and renderers). */
function rec(t: number, sess: number, sev: string, msg: string, kind: Kind, who: Who, cmd = 'idle'): SimRecord {
  return {
    t,
    seq: 0,
    sev,
    msg,
    detail: undefined,
    hint: undefined,
    statement: undefined,
    sqlstate: '00000',
    user: who.user,
    db: who.db,
    ip: who.ip,
    port: who.port,
    app: who.app,
    sess,
    last: false,
    backend: CLIENT,
    cmd,
    cat: undefined,
    reason: undefined,
    kind,
  }
}

function bg(t: number, sess: number, msg: string, backend: string, last = false): SimRecord {
  const r = rec(t, sess, 'LOG', msg, Kind.Other, NOBODY, '')
  r.backend = backend
  r.last = last
  return r
}

const TABLES = ['orders', 'order_items', 'customers', 'invoices', 'payments', 'events', 'sessions']

function statementText(rng: Rng): string {
  const table = rng.pick(TABLES)
  switch (rng.int(0, 4)) {
    case 0:
      return `SELECT * FROM ${table} WHERE id = ${rng.int(1, 999_999)}`
    case 1:
      return `UPDATE ${table} SET updated_at = now() WHERE id = ${rng.int(1, 999_999)}`
    case 2:
      return `INSERT INTO ${table} (id, payload) VALUES (${rng.int(1, 999_999)}, '{"v":${rng.int(1, 99)}}')`
    case 3:
      return `SELECT count(*) FROM ${table} WHERE created_at > now() - interval '1 hour'`
    default:
      return 'BEGIN'
  }
}

function sessionTime(ms: number): string {
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor(ms / 60_000) % 60
  const s = Math.floor(ms / 1000) % 60
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`
}

function authorizedText(p: ServerProfile, user: string, db: string, app: string): string {
  const tls =
    p.flavour === 'self-hosted'
      ? ''
      : p.version >= 12
        ? ' SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)'
        : ' SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256, compression=off)'
  return `connection authorized: user=${user} database=${db} application_name=${app}${tls}`
}

/** Lines per normal session on average (received, authorized, ~5 statements, rare errors, disconnection). */
const LINES_PER_SESSION = 8.1

/** Normal client traffic: sessions with statements and occasional unrelated ERRORs; never a connection failure. */
export function normalTraffic(
  p: ServerProfile,
  rng: Rng,
  start: number,
  end: number,
  ratePerSec: number,
  quiet: Array<[number, number]>,
): Generator<SimRecord> {
  let key = 0
  const users = p.users.map((u) => u[0])
  const weights = p.users.map((u) => u[2])
  return schedule(rng, start, end, (LINES_PER_SESSION / ratePerSec) * 1000, (t0, push) => {
    for (const [qs, qe] of quiet) if (t0 >= qs && t0 < qe) return
    const sess = ++key
    const i = users.indexOf(rng.weighted(users, weights))
    const [user, app] = [p.users[i][0], p.users[i][1]]
    const admin = i === p.users.length - 1 && p.users.length > 2
    const ip = admin ? rng.pick(p.adminClients) : rng.pick(p.appClients)
    const port = rng.int(32768, 60999)
    const db = rng.chance(0.95) ? p.databases[0] : p.databases[p.databases.length - 1]
    const known: Who = { ip, port, user, db, app }
    push(rec(t0, sess, 'LOG', `connection received: host=${ip} port=${port}`, Kind.Received, { ip, port }, ''))
    let t = t0 + rng.int(2, 15)
    push(rec(t, sess, 'LOG', authorizedText(p, user, db, app), Kind.Authorized, known, 'authentication'))
    let n = 1
    while (rng.chance(0.8) && n < 40) n++
    for (let k = 0; k < n; k++) {
      t += Math.floor(rng.exp(300))
      const sql = statementText(rng)
      const roll = rng.next()
      if (roll < 0.006) {
        const missing = rng.pick(['order_archive', 'tmp_import', 'customer_v2'])
        const r = rec(
          t,
          sess,
          'ERROR',
          `relation "${missing}" does not exist at character 15`,
          Kind.Other,
          known,
          'SELECT',
        )
        r.sqlstate = '42P01'
        r.statement = `SELECT * FROM ${missing} WHERE id = ${rng.int(1, 9999)}`
        push(r)
      } else if (roll < 0.01) {
        const id = rng.int(1, 999_999)
        const r = rec(
          t,
          sess,
          'ERROR',
          'duplicate key value violates unique constraint "orders_pkey"',
          Kind.Other,
          known,
          'INSERT',
        )
        r.sqlstate = '23505'
        r.detail = `Key (id)=(${id}) already exists.`
        r.statement = `INSERT INTO orders (id, payload) VALUES (${id}, '{}')`
        push(r)
      } else if (roll < 0.012) {
        const r = rec(t, sess, 'WARNING', 'there is no transaction in progress', Kind.Other, known, 'COMMIT')
        r.sqlstate = '25P01'
        push(r)
      } else {
        const ms = (rng.exp(3) + 0.02).toFixed(3)
        const verb = sql.slice(0, sql.indexOf(' ') >>> 0)
        push(rec(t, sess, 'LOG', `duration: ${ms} ms  statement: ${sql}`, Kind.Other, known, verb))
      }
    }
    t += Math.floor(rng.exp(100)) + 1
    const closed = rec(
      t,
      sess,
      'LOG',
      `disconnection: session time: ${sessionTime(t - t0)} user=${user} database=${db} host=${ip} port=${port}`,
      Kind.Closed,
      known,
    )
    closed.last = true
    push(closed)
  })
}

/** Checkpoints every 5 minutes and autovacuum runs: multi-line, never about connections. */
export function background(p: ServerProfile, rng: Rng, start: number, end: number): Generator<SimRecord> {
  let key = 0
  const CHECKPOINTER = -1
  return schedule(rng, start, end, 60_000, (t, push) => {
    if (rng.chance(0.2)) {
      const buffers = rng.int(10, 5000)
      const write = rng.exp(20).toFixed(3)
      push(bg(t, CHECKPOINTER, 'checkpoint starting: time', 'checkpointer'))
      push(
        bg(
          t + Math.floor(Number(write) * 1000) + 5,
          CHECKPOINTER,
          `checkpoint complete: wrote ${buffers} buffers (${((buffers / 16384) * 100).toFixed(1)}%); 0 WAL file(s) added, 0 removed, ${rng.int(0, 3)} recycled; write=${write} s, sync=0.004 s, total=${(Number(write) + 0.01).toFixed(3)} s; sync files=${rng.int(1, 40)}, longest=0.002 s, average=0.001 s; distance=${rng.int(100, 90000)} kB, estimate=${rng.int(100, 90000)} kB`,
          'checkpointer',
        ),
      )
    }
    if (rng.chance(0.5)) {
      const table = `${p.databases[0]}.public.${rng.pick(TABLES)}`
      const removed = rng.int(0, 20000)
      push(
        bg(
          t + rng.int(0, 30_000),
          -2 - key++,
          `automatic vacuum of table "${table}": index scans: 1\npages: 0 removed, ${rng.int(100, 9000)} remain, 0 skipped due to pins, 0 skipped frozen\ntuples: ${removed} removed, ${rng.int(10000, 900000)} remain, 0 are dead but not yet removable`,
          'autovacuum worker',
          true,
        ),
      )
    }
  })
}

/** Failed attempts of one incident (and, for a restart, the postmaster lines around it). */
export function incidentAttempts(inc: InjectedIncident, p: ServerProfile, rng: Rng): Generator<SimRecord> {
  const reason = inc.reason ?? DEFAULT_REASON[inc.category]
  const restart = reason === 'restart'
  if (restart && inc.category !== 'transient') {
    throw new Error(`generate: incident reason "restart" belongs to category transient, not ${inc.category}`)
  }
  const end = inc.start + inc.durationMs
  const switchAt = inc.start + Math.floor(inc.durationMs * 0.3)
  const fixed: Template | undefined = restart ? undefined : templateFor(reason, inc.category)
  const down = restart ? templateFor('shutting_down', 'transient') : undefined
  const up = restart ? templateFor('starting_up', 'transient') : undefined
  const clients = inc.clients?.length ? inc.clients : p.appClients
  const oneUser = inc.user ?? p.users[0][0]
  const database = inc.database ?? p.databases[0]
  const app = p.users.find((u) => u[0] === oneUser)?.[1] ?? 'psql'
  let key = 0
  const initial: SimRecord[] = []
  if (restart) {
    const pm = -1
    const postmaster = (t: number, msg: string) => initial.push(bg(t, pm, msg, 'postmaster'))
    postmaster(inc.start, 'received fast shutdown request')
    postmaster(inc.start + 1, 'aborting any active transactions')
    postmaster(inc.start + 40, 'shutting down')
    postmaster(switchAt - 5, 'database system is shut down')
    postmaster(switchAt, `starting PostgreSQL ${p.version}.4 on x86_64-pc-linux-gnu, compiled by gcc, 64-bit`)
    postmaster(switchAt + 3, 'listening on IPv4 address "0.0.0.0", port 5432')
    postmaster(end, 'database system is ready to accept connections')
  }
  return schedule(
    rng,
    inc.start,
    end,
    60_000 / inc.perMinute,
    (t0, push) => {
      const tpl = fixed ?? (t0 < switchAt ? down! : up!)
      const r = fixed ? reason : t0 < switchAt ? 'shutting_down' : 'starting_up'
      const sess = ++key
      const ip = rng.pick(clients)
      const port = rng.int(32768, 60999)
      const user = inc.users?.length ? rng.pick(inc.users) : oneUser
      const f = tpl.text({ p, ip, user, database })
      push(rec(t0, sess, 'LOG', `connection received: host=${ip} port=${port}`, Kind.Received, { ip, port }, ''))
      let t = t0 + rng.int(1, 12)
      const who: Who = tpl.knowsUser ? { ip, port, user, db: database, app } : { ip, port }
      if (tpl.shape === 'session') {
        push(rec(t, sess, 'LOG', authorizedText(p, user, database, app), Kind.Authorized, who, 'authentication'))
        t += Math.floor(rng.exp(2000)) + 1
        push(rec(t, sess, 'LOG', `duration: 0.${rng.int(100, 999)} ms  statement: BEGIN`, Kind.Other, who, 'BEGIN'))
        t += Math.floor(rng.exp(5000)) + 1
      }
      const failed = rec(
        t,
        sess,
        f.sev,
        f.msg,
        Kind.Failure,
        who,
        tpl.shape === 'session' ? 'idle in transaction' : 'authentication',
      )
      failed.detail = f.detail
      failed.hint = f.hint
      failed.sqlstate = f.sqlstate
      failed.cat = tpl.category
      failed.reason = r
      failed.last = true
      push(failed)
    },
    initial,
  )
}

/**
 * The sessions of a growing connection pool (InjectedIncident.pool): `from` sessions opened two
 * hours before the ramp, then one by one up to `to` during the ramp; all end with the incident.
 */
export function poolSessions(inc: InjectedIncident, p: ServerProfile, rng: Rng): Generator<SimRecord> {
  const pool = inc.pool!
  const rampStart = inc.start - pool.rampMs
  const end = inc.start + inc.durationMs
  const user = pool.user ?? p.users[0][0]
  const db = p.databases[0]
  const initial: SimRecord[] = []
  for (let k = 0; k < pool.to; k++) {
    const t0 =
      k < pool.from
        ? rampStart - 2 * 3_600_000 + k * 1000
        : rampStart + Math.floor(((k - pool.from + 1) * pool.rampMs) / (pool.to - pool.from + 1))
    const ip = p.appClients[k % p.appClients.length]
    const port = rng.int(32768, 60999)
    const who: Who = { ip, port, user, db, app: pool.application }
    initial.push(rec(t0, k + 1, 'LOG', `connection received: host=${ip} port=${port}`, Kind.Received, { ip, port }, ''))
    initial.push(
      rec(t0 + 3, k + 1, 'LOG', authorizedText(p, user, db, pool.application), Kind.Authorized, who, 'authentication'),
    )
    const t1 = end + rng.int(1000, 60_000)
    const closed = rec(
      t1,
      k + 1,
      'LOG',
      `disconnection: session time: ${sessionTime(t1 - t0)} user=${user} database=${db} host=${ip} port=${port}`,
      Kind.Closed,
      who,
    )
    closed.last = true
    initial.push(closed)
  }
  return schedule(rng, inc.start, end, Number.NaN, () => {}, initial)
}
