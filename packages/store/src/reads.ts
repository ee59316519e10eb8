/**
 * Read queries used by the CLI, API and tests. Every count is exact before background merges:
 * FINAL collapses duplicates (same id, or lower revisions) at read time.
 */
import type { Category, Hypothesis, RcaEvent, Suggestion, TopEntry, WindowCount } from '@connrca/contracts'
import type { Store } from './open-store.js'

export interface TimeRange {
  /** Inclusive, epoch ms. */
  from?: number
  /** Exclusive, epoch ms. */
  to?: number
}

function timeFilter(column: string, opts: TimeRange, params: Record<string, unknown>): string {
  let where = ''
  if (opts.from !== undefined) {
    where += ` AND ${column} >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`
    params.from = Math.floor(opts.from)
  }
  if (opts.to !== undefined) {
    where += ` AND ${column} < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`
    params.to = Math.floor(opts.to)
  }
  return where
}

export interface ServerCategoryCount {
  server: string
  category: Category
  failures: number
}

/** Failed connection attempts per server and category, each event id counted once. */
export async function countsByServerCategory(
  store: Store,
  opts: TimeRange & { server?: string } = {},
): Promise<ServerCategoryCount[]> {
  const params: Record<string, unknown> = {}
  let where = `outcome = 'failed'${timeFilter('time', opts, params)}`
  if (opts.server !== undefined) {
    where += ' AND server = {server:String}'
    params.server = opts.server
  }
  const rows = await store.query<{ server: string; category: Category; failures: string }>(
    `SELECT server, category, count() AS failures
     FROM connection_events FINAL
     WHERE ${where}
     GROUP BY server, category
     ORDER BY server, category`,
    params,
  )
  return rows.map((r) => ({ server: r.server, category: r.category, failures: Number(r.failures) }))
}

const toTop = (arr: { value: string; count: number }[]): TopEntry[] =>
  arr.map((e) => ({ value: e.value, count: Number(e.count) }))

interface WindowRow {
  server: string
  category: Category
  window_start: string
  window_end: string
  failures: number
  attempts: number
  distinct_clients: number
  first_failure: string
  last_failure: string
  reasons: { value: string; count: number }[]
  top_clients: { value: string; count: number }[]
  top_users: { value: string; count: number }[]
  top_databases: { value: string; count: number }[]
  revision: number
}

/** The latest revision of every window in range (by window start). */
export async function latestWindowCounts(
  store: Store,
  opts: TimeRange & { server?: string; category?: Category } = {},
): Promise<WindowCount[]> {
  const params: Record<string, unknown> = {}
  let where = `1${timeFilter('window_start', opts, params)}`
  if (opts.server !== undefined) {
    where += ' AND server = {server:String}'
    params.server = opts.server
  }
  if (opts.category !== undefined) {
    where += ' AND category = {category:String}'
    params.category = opts.category
  }
  const rows = await store.query<WindowRow>(
    `SELECT server, category,
            toUnixTimestamp64Milli(window_start) AS window_start, toUnixTimestamp64Milli(window_end) AS window_end,
            failures, attempts, distinct_clients,
            toUnixTimestamp64Milli(first_failure) AS first_failure, toUnixTimestamp64Milli(last_failure) AS last_failure,
            reasons, top_clients, top_users, top_databases, revision
     FROM window_counts FINAL
     WHERE ${where}
     ORDER BY server, category, window_start`,
    params,
  )
  return rows.map((r) => ({
    server: r.server,
    category: r.category,
    windowStart: Number(r.window_start),
    windowEnd: Number(r.window_end),
    failures: r.failures,
    attempts: r.attempts,
    distinctClients: r.distinct_clients,
    firstFailure: Number(r.first_failure),
    lastFailure: Number(r.last_failure),
    reasons: toTop(r.reasons),
    topClients: toTop(r.top_clients),
    topUsers: toTop(r.top_users),
    topDatabases: toTop(r.top_databases),
    revision: r.revision,
  }))
}

interface RcaRow extends Omit<WindowRow, 'window_start' | 'window_end' | 'failures' | 'distinct_clients'> {
  id: string
  status: RcaEvent['status']
  count: number
  windows: [string, string, number][]
  sample_messages: string[]
  persistence: RcaEvent['persistence']
  severity: RcaEvent['severity']
  title: string
  text: string
  steps: string[]
  suggestion: string
  hypotheses: string
  emitted_at: string
}

export interface RcaQuery extends TimeRange {
  server?: string
  status?: RcaEvent['status']
  /** Most recent first; default 1000. */
  limit?: number
}

/** The latest revision of every RCA event whose last failure falls in range, most recent first. */
export async function latestRcaEvents(store: Store, opts: RcaQuery = {}): Promise<RcaEvent[]> {
  const params: Record<string, unknown> = { limit: opts.limit ?? 1000 }
  let where = `1${timeFilter('last_failure', opts, params)}`
  if (opts.server !== undefined) {
    where += ' AND server = {server:String}'
    params.server = opts.server
  }
  if (opts.status !== undefined) {
    where += ' AND status = {status:String}'
    params.status = opts.status
  }
  const rows = await store.query<RcaRow>(
    `SELECT id, revision, status, server, category, count, attempts,
            toUnixTimestamp64Milli(first_failure) AS first_failure, toUnixTimestamp64Milli(last_failure) AS last_failure,
            arrayMap(w -> (toUnixTimestamp64Milli(w.1), toUnixTimestamp64Milli(w.2), w.3), windows) AS windows,
            reasons, top_clients, top_users, top_databases, sample_messages, persistence, severity,
            title, text, steps, suggestion, hypotheses, toUnixTimestamp64Milli(emitted_at) AS emitted_at
     FROM rca_events FINAL
     WHERE ${where}
     ORDER BY last_failure DESC, id
     LIMIT {limit:UInt32}`,
    params,
  )
  return rows.map((r) => {
    const ev: RcaEvent = {
      schema: 'connrca.rca.v1',
      id: r.id,
      revision: r.revision,
      status: r.status,
      server: r.server,
      category: r.category,
      count: r.count,
      attempts: r.attempts,
      firstFailure: Number(r.first_failure),
      lastFailure: Number(r.last_failure),
      windows: r.windows.map(([start, end, failures]) => ({ start: Number(start), end: Number(end), failures })),
      reasons: toTop(r.reasons),
      topClients: toTop(r.top_clients),
      topUsers: toTop(r.top_users),
      topDatabases: toTop(r.top_databases),
      sampleMessages: r.sample_messages,
      persistence: r.persistence,
      severity: r.severity,
      title: r.title,
      text: r.text,
      steps: r.steps,
      emittedAt: Number(r.emitted_at),
    }
    if (r.suggestion) ev.suggestion = JSON.parse(r.suggestion) as Suggestion
    if (r.hypotheses) ev.hypotheses = JSON.parse(r.hypotheses) as Hypothesis[]
    return ev
  })
}

/** Returns the value stored under `name`, or undefined. */
export async function getCheckpoint(store: Store, name: string): Promise<string | undefined> {
  const rows = await store.query<{ value: string }>(
    'SELECT argMax(value, updated) AS value FROM checkpoints WHERE name = {name:String} GROUP BY name',
    { name },
  )
  return rows[0]?.value
}

let lastStamp = 0
/** Microseconds, strictly increasing within the process, so two puts in one millisecond keep their order. */
function nextStamp(): number {
  const now = Date.now() * 1000
  lastStamp = now > lastStamp ? now : lastStamp + 1
  return lastStamp
}

/**
 * The value travels in the INSERT body, not as a query parameter: window state can be larger
 * than a URL may be (16 KiB behind Node fronts, http_max_uri_size on a server).
 */
export async function putCheckpoint(store: Store, name: string, value: string): Promise<void> {
  const micros = nextStamp()
  const stamp = new Date(Math.floor(micros / 1000)).toISOString().replace('T', ' ').replace('Z', '')
  const updated = `${stamp}${String(micros % 1000).padStart(3, '0')}`
  await store.client.insert({ table: 'checkpoints', values: [{ name, value, updated }], format: 'JSONEachRow' })
}
