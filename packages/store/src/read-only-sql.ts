/**
 * Runs user SQL read-only: statement check first, then the query itself carries
 * `SETTINGS readonly = 1` plus time, memory and row limits. The limits travel in the SQL rather
 * than as client settings because chdb/connection applies client settings with a session-wide
 * SET, which would leave the embedded store read-only for every later write.
 *
 * The result is streamed and cut here, by rows and by bytes, then the query is cancelled: chDB
 * ignores max_result_bytes (measured: 300 MB came back under a 16 MB limit in both overflow
 * modes), and a cut in the engine would still hand over a whole block. A block is the smallest
 * piece the engine hands over (65k rows by default: ~16 MB of events); blocks of very wide rows are
 * bounded by the memory cap instead. A smaller max_block_size was measured 5x slower for aggregations.
 */
import { availableParallelism } from 'node:os'
import type { Store } from './open-store.js'
import { checkReadOnlySql } from './sql-guard.js'

export interface ReadOnlySqlOptions {
  /** Rows returned at most; more are cut and `truncated` is set. Default 10 000. */
  maxRows?: number
  /** Bytes of rows (as JSON arrays) returned at most; more rows are cut and `truncated` is set. Default 16 MiB. */
  maxBytes?: number
  /** Server-side time limit (max_execution_time). Default 30 s. */
  timeoutSec?: number
  /** Engine memory the query may use (max_memory_usage), in MB. Default 1024. */
  maxMemoryMB?: number
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

/** A read-only statement that passed the check but failed in ClickHouse (syntax, unknown table, timeout, memory). */
export class SqlError extends Error {
  override name = 'SqlError'
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

const TIMEOUT_CODE = '159'
const QUERY_THREADS = Math.max(1, Math.floor(availableParallelism() / 2))
const MEMORY_CODE = '241'
export async function runReadOnlySql(
  store: Store,
  sql: string,
  opts: ReadOnlySqlOptions = {},
): Promise<ReadOnlySqlResult> {
  const statement = checkReadOnlySql(sql)
  const maxRows = Math.max(1, Math.floor(opts.maxRows ?? 10_000))
  const maxBytes = Math.max(1, Math.floor(opts.maxBytes ?? 16 * 1024 * 1024))
  const timeoutSec = Math.max(1, Math.ceil(opts.timeoutSec ?? 30))
  const maxMemoryMB = Math.max(1, Math.floor(opts.maxMemoryMB ?? 1024))
  // readonly last: once it is applied no other setting may change. max_threads: the engine shares
  // the process (and the machine) with the pipeline; half the cores keep ingestion going meanwhile.
  const limited = `${statement}
SETTINGS max_execution_time = ${timeoutSec}, timeout_overflow_mode = 'throw', max_memory_usage = ${maxMemoryMB * 1024 * 1024}, max_result_rows = ${maxRows + 1}, max_result_bytes = ${maxBytes}, result_overflow_mode = 'break', max_threads = ${QUERY_THREADS}, readonly = 1`
  const started = performance.now()
  const lines = new ResultLines(maxRows, maxBytes)
  try {
    await store.readStream(limited, 'JSONCompactEachRowWithNamesAndTypes', (text) => lines.add(text))
  } catch (err) {
    throw toSqlError(err, timeoutSec, maxMemoryMB)
  }
  const elapsedMs = Math.round(performance.now() - started)
  const result: ReadOnlySqlResult = { ...lines.result(), elapsedMs }
  if (opts.format) result.text = renderResult(result, opts.format)
  return result
}

/** Collects JSONCompactEachRowWithNamesAndTypes output up to the row and byte caps. */
class ResultLines {
  private names: string[] | undefined
  private types: string[] | undefined
  private namesLine = ''
  private typesLine = ''
  /** A line equal to the names header: a repeated header if the types line follows, else a row. */
  private held: string | undefined
  private readonly rows: unknown[][] = []
  private bytes = 0
  private truncated = false
  private partial = ''

  constructor(
    private readonly maxRows: number,
    private readonly maxBytes: number,
  ) {}

  /** Returns false once a cap is reached (the caller then stops the query). */
  add(text: string): boolean {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop() ?? ''
    for (const line of parts) {
      if (!line) continue
      if (!this.names) {
        this.names = JSON.parse(line)
        this.namesLine = line
      } else if (!this.types) {
        this.types = JSON.parse(line)
        this.typesLine = line
      } else if (this.held !== undefined) {
        const held = this.held
        this.held = undefined
        // chDB streams each block of a UNION ALL with its own names and types header
        if (line === this.typesLine) continue
        if (!this.row(held) || !this.row(line)) return false
      } else if (line === this.namesLine) this.held = line
      else if (!this.row(line)) return false
    }
    return true
  }

  private row(line: string): boolean {
    // +1: the comma between rows in the JSON answer
    if (this.rows.length >= this.maxRows || this.bytes + line.length + 1 > this.maxBytes) {
      this.truncated = true
      return false
    }
    this.bytes += line.length + 1
    this.rows.push(JSON.parse(line))
    return true
  }

  result(): Omit<ReadOnlySqlResult, 'elapsedMs'> {
    if (this.held !== undefined) this.row(this.held)
    this.held = undefined
    const names = this.names ?? []
    const columns = names.map((name, i) => ({ name, type: this.types?.[i] ?? '' }))
    return { columns, rows: this.rows, truncated: this.truncated }
  }
}

function toSqlError(err: unknown, timeoutSec: number, maxMemoryMB: number): SqlError {
  const e = err as { message?: string; code?: string | number; clickhouseCode?: number; name?: string }
  const text = String(e?.message ?? err)
  // a server's error carries the ClickHouse code; chDB's stream errors only say it in the text
  const code = String(e?.clickhouseCode ?? (/^\d+$/.test(String(e?.code)) ? e?.code : /Code: (\d+)/.exec(text)?.[1]) ?? '')
  if (code === TIMEOUT_CODE || e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new SqlError(`query stopped: it ran longer than the ${timeoutSec} s limit`, TIMEOUT_CODE)
  }
  if (code === MEMORY_CODE) {
    return new SqlError(
      `query stopped: it needed more than the ${maxMemoryMB} MB memory limit; aggregate more, or read fewer rows or columns`,
      MEMORY_CODE,
    )
  }
  const first = text.split('\n')[0].trim()
  return new SqlError(`query failed: ${first}`, code || undefined)
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
