/**
 * Contract objects -> JSONCompactEachRow lines (one array per row, columns in the order listed
 * here). Built with one JSON.stringify per string field and no intermediate row objects:
 * this runs for every stored event. Times stay epoch-ms integers; ClickHouse reads an integer
 * into DateTime64(3) as milliseconds, so nothing is formatted on the JS side.
 */
import type { ConnectionEvent, DeadLetter, RcaEvent, TopEntry, WindowCount } from '@connrca/contracts'

export interface TableSpec<T> {
  table: string
  columns: readonly string[]
  encode: (row: T) => string
}

const s = JSON.stringify
const ms = (v: number) => (Number.isFinite(v) ? Math.round(v) : 0)
const uint = (v: number | undefined) => (v !== undefined && Number.isFinite(v) && v > 0 ? Math.round(v) : 0)
const str = (v: string | undefined) => (v === undefined ? '""' : s(v))

function tops(entries: readonly TopEntry[]): string {
  if (entries.length === 0) return '[]'
  let out = '['
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    out += `${i ? ',' : ''}[${s(e.value)},${uint(e.count)}]`
  }
  return `${out}]`
}

export const connectionEvents: TableSpec<ConnectionEvent> = {
  table: 'connection_events',
  columns: [
    'id',
    'server',
    'time',
    'outcome',
    'category',
    'reason',
    'sqlstate',
    'user',
    'database',
    'client_ip',
    'client_port',
    'application',
    'tls_protocol',
    'pid',
    'message',
    'source_kind',
    'source_name',
    'source_position',
  ],
  encode: (e) => {
    const src = e.source
    return `[${s(e.id)},${s(e.server)},${ms(e.time)},${s(e.outcome)},${str(e.category)},${str(e.reason)},${str(e.sqlstate)},${str(e.user)},${str(e.database)},${str(e.clientIp)},${uint(e.clientPort)},${str(e.application)},${str(e.tlsProtocol)},${uint(e.pid)},${s(e.message)},${src ? s(src.kind) : '""'},${src ? s(src.name) : '""'},${src ? s(String(src.position)) : '""'}]`
  },
}

export const windowCounts: TableSpec<WindowCount> = {
  table: 'window_counts',
  columns: [
    'server',
    'category',
    'window_start',
    'window_end',
    'failures',
    'attempts',
    'distinct_clients',
    'first_failure',
    'last_failure',
    'reasons',
    'top_clients',
    'top_users',
    'top_databases',
    'revision',
  ],
  encode: (w) =>
    `[${s(w.server)},${s(w.category)},${ms(w.windowStart)},${ms(w.windowEnd)},${uint(w.failures)},${uint(w.attempts)},${uint(w.distinctClients)},${ms(w.firstFailure)},${ms(w.lastFailure)},${tops(w.reasons)},${tops(w.topClients)},${tops(w.topUsers)},${tops(w.topDatabases)},${uint(w.revision)}]`,
}

export const rcaEvents: TableSpec<RcaEvent> = {
  table: 'rca_events',
  columns: [
    'id',
    'revision',
    'status',
    'server',
    'category',
    'count',
    'attempts',
    'first_failure',
    'last_failure',
    'windows',
    'reasons',
    'top_clients',
    'top_users',
    'top_databases',
    'sample_messages',
    'persistence',
    'severity',
    'title',
    'text',
    'steps',
    'suggestion',
    'emitted_at',
  ],
  encode: (r) => {
    const windows = r.windows.map((w) => `[${ms(w.start)},${ms(w.end)},${uint(w.failures)}]`).join(',')
    return `[${s(r.id)},${uint(r.revision)},${s(r.status)},${s(r.server)},${s(r.category)},${uint(r.count)},${uint(r.attempts)},${ms(r.firstFailure)},${ms(r.lastFailure)},[${windows}],${tops(r.reasons)},${tops(r.topClients)},${tops(r.topUsers)},${tops(r.topDatabases)},${s(r.sampleMessages)},${s(r.persistence)},${s(r.severity)},${s(r.title)},${s(r.text)},${s(r.steps)},${r.suggestion ? s(s(r.suggestion)) : '""'},${ms(r.emittedAt)}]`
  },
}

export const deadLetters: TableSpec<DeadLetter> = {
  table: 'dead_letters',
  columns: ['id', 'stage', 'reason', 'raw', 'server', 'source_kind', 'source_name', 'source_position', 'time'],
  encode: (d) => {
    const src = d.source
    return `[${s(d.id)},${s(d.stage)},${s(d.reason)},${s(d.raw)},${str(d.server)},${src ? s(src.kind) : '""'},${src ? s(src.name) : '""'},${src ? s(String(src.position)) : '""'},${ms(d.time)}]`
  },
}

/** Joins encoded rows into one newline-terminated payload. */
export function encodeRows<T>(spec: TableSpec<T>, rows: readonly T[]): string {
  const parts = new Array<string>(rows.length)
  for (let i = 0; i < rows.length; i++) parts[i] = spec.encode(rows[i])
  parts.push('')
  return parts.join('\n')
}
