/**
 * Runs user SQL read-only: statement check first, then the query itself carries
 * `SETTINGS readonly = 1` plus row, byte and time limits. The limits travel in the SQL rather
 * than as client settings because chdb/connection applies client settings with a session-wide
 * SET, which would leave the embedded store read-only for every later write.
 */
import type { Store } from './open-store.js'
import { checkReadOnlySql } from './sql-guard.js'

export interface ReadOnlySqlOptions {
  /** Rows returned at most; more are cut and `truncated` is set. Default 10 000. */
  maxRows?: number
  /** Server-side time limit (max_execution_time). Default 30 s. */
  timeoutSec?: number
  /** When set, `text` holds the result rendered in this format. */
  format?: 'JSON' | 'CSV' | 'table'
}

export interface ReadOnlySqlResult {
  columns: { name: string; type: string }[]
  rows: unknown[][]
  truncated: boolean
  elapsedMs: number
  text?: string
}

/** A read-only statement that passed the check but failed in ClickHouse (syntax, unknown table, timeout). */
export class SqlError extends Error {
  override name = 'SqlError'
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

const MAX_RESULT_BYTES = 256 * 1024 * 1024
const TIMEOUT_CODE = '159'

export async function runReadOnlySql(
  store: Store,
  sql: string,
  opts: ReadOnlySqlOptions = {},
): Promise<ReadOnlySqlResult> {
  const statement = checkReadOnlySql(sql)
  const maxRows = Math.max(1, Math.floor(opts.maxRows ?? 10_000))
  const timeoutSec = Math.max(1, Math.ceil(opts.timeoutSec ?? 30))
  // readonly last: once it is applied no other setting may change
  const limited = `${statement}
SETTINGS max_execution_time = ${timeoutSec}, timeout_overflow_mode = 'throw', max_result_rows = ${maxRows + 1}, max_result_bytes = ${MAX_RESULT_BYTES}, result_overflow_mode = 'break', readonly = 1`
  const abort = AbortSignal.timeout((timeoutSec + 5) * 1000)
  const started = performance.now()
  let body: { meta: { name: string; type: string }[]; data: unknown[][] }
  try {
    const rs = await store.client.query({ query: limited, format: 'JSONCompact', abort_signal: abort })
    body = (await rs.json()) as unknown as typeof body
  } catch (err) {
    throw toSqlError(err, timeoutSec)
  }
  const elapsedMs = Math.round(performance.now() - started)
  const truncated = body.data.length > maxRows
  const rows = truncated ? body.data.slice(0, maxRows) : body.data
  const result: ReadOnlySqlResult = { columns: body.meta, rows, truncated, elapsedMs }
  if (opts.format) result.text = renderResult(result, opts.format)
  return result
}

function toSqlError(err: unknown, timeoutSec: number): SqlError {
  const e = err as { message?: string; code?: string; name?: string }
  if (e?.code === TIMEOUT_CODE || e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new SqlError(`query stopped: it ran longer than the ${timeoutSec} s limit`, TIMEOUT_CODE)
  }
  const first = String(e?.message ?? err)
    .split('\n')[0]
    .trim()
  return new SqlError(`query failed: ${first}`, e?.code)
}

/** Renders a result as a text table, CSV (with header), or JSON ({columns, rows, truncated}). */
export function renderResult(res: ReadOnlySqlResult, format: 'JSON' | 'CSV' | 'table'): string {
  if (format === 'JSON') {
    const objects = res.rows.map((r) => Object.fromEntries(res.columns.map((c, i) => [c.name, r[i]])))
    return JSON.stringify({ columns: res.columns, rows: objects, truncated: res.truncated }, null, 2)
  }
  const cells = res.rows.map((r) => r.map(cellText))
  if (format === 'CSV') {
    const lines = [res.columns.map((c) => csv(c.name)).join(',')]
    for (const r of cells) lines.push(r.map(csv).join(','))
    return `${lines.join('\n')}\n`
  }
  const widths = res.columns.map((c, i) => Math.min(60, Math.max(c.name.length, ...cells.map((r) => r[i].length))))
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w))
  const line = (vals: string[]) => vals.map((v, i) => fit(v, widths[i])).join(' │ ')
  const out = [line(res.columns.map((c) => c.name)), widths.map((w) => '─'.repeat(w)).join('─┼─')]
  for (const r of cells) out.push(line(r))
  const n = res.rows.length
  out.push(`${n} row${n === 1 ? '' : 's'}${res.truncated ? ' (truncated)' : ''} in ${res.elapsedMs} ms`)
  return `${out.join('\n')}\n`
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL'
  if (typeof v === 'string') return v.replace(/\n/g, '\\n')
  return JSON.stringify(v)
}

function csv(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
