import type { LogsQueryResult } from '@azure/monitor-query-logs'
import { type AzureSource as AzureConfig, type DeadLetter, type LogRecord, toMs } from '@connrca/contracts'
import { retryWithBackoff } from '@connrca/observe'
import { isDeadLetter, parseAzureRow, recordId } from '@connrca/pglog'
import { type AzureTable, buildQuery, type Window } from './kql.js'

/** The part of LogsQueryClient the puller uses (tests may substitute it; production uses the SDK). */
export interface AzureQueryClient {
  queryWorkspace(
    workspaceId: string,
    query: string,
    timespan: { startTime: Date; endTime: Date },
    options?: { abortSignal?: AbortSignal; serverTimeoutInSeconds?: number },
  ): Promise<LogsQueryResult>
}

export interface SliceResult {
  records: LogRecord[]
  deadLetters: DeadLetter[]
  /** Rows returned before dedup. */
  rows: number
}

export interface PullProgress {
  from: number
  to: number
  /** Everything before this time has been delivered. */
  doneUntil: number
  rows: number
  records: number
  duplicates: number
}

/** Slices shorter than this are not split again; a result that is still too large is taken as is. */
const MIN_SLICE_MS = 1000
/** Rows may carry a TimeGenerated a little after their ingestion (clock skew of the writer). */
const FUTURE_SKEW_MS = 3_600_000

/** One-line, secret-free error for the user. */
export class AzureQueryError extends Error {}

/** A failure worth another attempt (throttling, 5xx, network, a partial result of a 1 s slice). */
class Transient extends Error {
  constructor(
    readonly why: string,
    readonly retryAfter?: number,
  ) {
    super(why)
  }
}

/** Workspaces with a pull under way: never two pulls of one workspace at once (scheduled or backfill). */
const busy = new Map<string, Promise<void>>()

export async function withWorkspaceLock<T>(workspaceId: string, fn: () => Promise<T>): Promise<T> {
  while (busy.has(workspaceId)) await busy.get(workspaceId)
  let release!: () => void
  busy.set(
    workspaceId,
    new Promise<void>((r) => {
      release = r
    }),
  )
  try {
    return await fn()
  } finally {
    busy.delete(workspaceId)
    release()
  }
}

export function workspaceBusy(workspaceId: string): boolean {
  return busy.has(workspaceId)
}

type Rows = Array<Record<string, unknown>>

/**
 * Reads time ranges of one workspace: splits them into slices, splits a slice again when its
 * result is or would be incomplete (more than maxRows, any partial result, a server timeout),
 * retries throttling (honouring Retry-After) and transient failures with the project's backoff,
 * skips tables the workspace does not have, and drops rows already seen (by `_ItemId`).
 */
export class AzurePuller {
  private readonly maxSlice: number
  private readonly maxLateness: number
  /** `_ItemId` -> row time (ingestion time for scheduled pulls), for rows inside the overlap. */
  readonly seen = new Map<string, number>()
  /** Tables found missing in this pull (asked again next pull: a diagnostic setting may add one). */
  private missingNow = new Set<AzureTable>()
  /** Tables already reported missing, so the log says it once. */
  private readonly reported = new Set<AzureTable>()

  constructor(
    private readonly cfg: AzureConfig,
    private readonly client: AzureQueryClient,
    private readonly name: string,
    private readonly log: (line: string) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.maxSlice = toMs(cfg.maxSlice)
    this.maxLateness = toMs(cfg.maxLateness)
  }

  /**
   * Reads [from, to) slice by slice in time order (`window`: by ingestion time or by
   * TimeGenerated); `onSlice` gets each slice's new records and must resolve when they are
   * accepted downstream (then the slice counts as done).
   */
  async pull(
    from: number,
    to: number,
    onSlice: (result: SliceResult, sliceEnd: number) => Promise<void>,
    onProgress?: (p: PullProgress) => void,
    window: Window = 'event',
  ): Promise<void> {
    this.missingNow = new Set()
    const progress: PullProgress = { from, to, doneUntil: from, rows: 0, records: 0, duplicates: 0 }
    const stack: Array<[number, number]> = []
    for (let end = to; end > from; end -= this.maxSlice) stack.push([Math.max(from, end - this.maxSlice), end])
    while (stack.length > 0) {
      this.signal?.throwIfAborted()
      const [a, b] = stack.pop()!
      const fetched = await this.fetchSlice(a, b, window)
      if (fetched === 'split') {
        const mid = a + Math.floor((b - a) / 2)
        stack.push([mid, b], [a, mid])
        continue
      }
      const result = this.toRecords(fetched, window)
      progress.rows += result.rows
      progress.duplicates += result.rows - result.records.length - result.deadLetters.length
      await onSlice(result, b)
      progress.records += result.records.length
      progress.doneUntil = b
      onProgress?.({ ...progress })
    }
  }

  /** Forget ids of rows older than `before` (outside any future overlap). */
  prune(before: number): void {
    for (const [id, t] of this.seen) if (t < before) this.seen.delete(id)
  }

  private async fetchSlice(from: number, to: number, window: Window): Promise<Rows | 'split'> {
    const take = this.cfg.maxRows + 1
    const canSplit = to - from > MIN_SLICE_MS
    const rows: Rows = []
    for (const table of this.cfg.tables) {
      if (this.missingNow.has(table)) continue
      const query = buildQuery(table, from, to, { connectionsOnly: this.cfg.connectionsOnly, take, window })
      // The API's timespan bounds TimeGenerated; windowing on ingestion time reads rows up to
      // maxLateness older than the window.
      const span: [number, number] =
        window === 'ingestion' ? [from - this.maxLateness, to + FUTURE_SKEW_MS] : [from, to]
      const res = await this.query(table, query, span, from, to, canSplit)
      if (res === 'split') return 'split'
      if (res === 'missing') {
        this.missingNow.add(table)
        continue
      }
      if (this.reported.delete(table)) this.log(`${this.name}: table ${table} exists now; reading it`)
      if (res.length > this.cfg.maxRows) {
        if (canSplit) return 'split'
        this.log(
          `${this.name}: more than ${this.cfg.maxRows} rows in one second at ${iso(from)}; taking the first ${this.cfg.maxRows}`,
        )
      }
      for (const r of res) rows.push(r)
    }
    this.reportMissing()
    return rows
  }

  /** Says once which tables the workspace lacks, once every table was asked for. */
  private reportMissing(): void {
    const missing = [...this.missingNow].filter((t) => !this.reported.has(t))
    if (missing.length === 0) return
    for (const t of missing) this.reported.add(t)
    const read = this.cfg.tables.filter((t) => !this.missingNow.has(t))
    const [what, them] =
      missing.length === 1 ? [`table ${missing[0]} does`, 'it'] : [`tables ${missing.join(', ')} do`, 'them']
    this.log(
      `${this.name}: ${what} not exist in workspace ${this.cfg.workspaceId} (no diagnostic setting writes to ${them}); ${read.length ? `reading ${read.join(', ')}` : 'nothing to read'}`,
    )
  }

  /**
   * One table's rows for one slice; 'split' when the answer is or may be incomplete and the slice
   * can still be halved; 'missing' when the workspace has no such table.
   */
  private async query(
    table: AzureTable,
    query: string,
    span: [number, number],
    from: number,
    to: number,
    canSplit: boolean,
  ): Promise<Rows | 'split' | 'missing'> {
    const where = `${table} ${iso(from)}..${iso(to)}`
    try {
      return await retryWithBackoff(() => this.attempt(table, query, span, canSplit), {
        minMs: toMs(this.cfg.retry.initialBackoff),
        maxMs: toMs(this.cfg.retry.maxBackoff),
        maxAttempts: this.cfg.retry.attempts,
        signal: this.signal,
        retryable: (e) => e instanceof Transient,
        delayFor: (e) => (e as Transient).retryAfter,
        onRetry: (e, _attempt, delay) =>
          this.log(`${this.name}: ${(e as Transient).why} for ${where}; retrying in ${Math.round(delay / 100) / 10} s`),
      })
    } catch (e) {
      if (this.signal?.aborted) throw this.signal.reason
      if (e instanceof Transient)
        throw new AzureQueryError(
          `${this.name}: giving up on ${where} after ${this.cfg.retry.attempts} attempts: ${e.why}`,
        )
      throw e
    }
  }

  private async attempt(
    table: AzureTable,
    query: string,
    span: [number, number],
    canSplit: boolean,
  ): Promise<Rows | 'split' | 'missing'> {
    let res: LogsQueryResult
    try {
      // The SDK ignores abortSignal (it never reaches the request): race the query against it.
      res = await raceAbort(
        this.client.queryWorkspace(
          this.cfg.workspaceId,
          query,
          { startTime: new Date(span[0]), endTime: new Date(span[1]) },
          { abortSignal: this.signal, serverTimeoutInSeconds: 180 },
        ),
        this.signal,
      )
    } catch (e) {
      if (this.signal?.aborted) throw this.signal.reason
      return this.failed(e, table, canSplit)
    }
    if (res.status === 'Success') return rowsOf(res.tables[0])
    // A partial result: the limit text (rows, ~64 MB) is in details[].innererror, which the SDK
    // drops, so any partial result is taken as incomplete: a smaller slice, else another attempt.
    if (canSplit) return 'split'
    const err = res.partialError
    throw new Transient(`partial result (${err.code}: ${oneLine(err.message)})`)
  }

  private failed(e: unknown, table: AzureTable, canSplit: boolean): 'split' | 'missing' {
    const err = e as {
      statusCode?: number
      code?: string
      message?: string
      name?: string
      response?: { headers?: { get(n: string): string | undefined } }
    }
    const status = err.statusCode
    // No token to be had (no identity, wrong secret): retrying only delays the message.
    if (/^(CredentialUnavailableError|AuthenticationError|AggregateAuthenticationError)$/.test(err.name ?? ''))
      throw new AzureQueryError(`${this.name}: cannot get a token for Log Analytics: ${oneLine(err.message)}`)
    // The top-level text of a 400 is generic; the SEM0100 naming the table is deep in the body.
    if (status === 400 && err.response?.headers?.get(UNRESOLVED_TABLES_HEADER)?.split(',').includes(table))
      return 'missing'
    if (status === 429) throw new Transient('throttled (429)', retryAfterMs(err.response?.headers?.get('retry-after')))
    // Over the server timeout: the same range would time out again.
    if (status === 504 && canSplit) return 'split'
    if (status === undefined || status >= 500 || status === 408)
      // A 503 under load or maintenance may say when to come back, as a 429 does.
      throw new Transient(
        status ? `HTTP ${status}` : `network error (${err.code ?? oneLine(err.message)})`,
        retryAfterMs(err.response?.headers?.get('retry-after')),
      )
    // 400/401/403/404: retrying will not help.
    throw new AzureQueryError(
      `${this.name}: query of workspace ${this.cfg.workspaceId} failed with HTTP ${status}${err.code ? ` ${err.code}` : ''}: ${oneLine(err.message)}`,
    )
  }

  private toRecords(rows: Rows, window: Window): SliceResult {
    const out: SliceResult = { records: [], deadLetters: [], rows: rows.length }
    for (const row of rows) {
      const itemId = typeof row._ItemId === 'string' && row._ItemId ? row._ItemId : undefined
      const time = Date.parse(String(window === 'ingestion' ? row.IngestionTime : row.TimeGenerated))
      if (itemId) {
        if (this.seen.has(itemId)) continue
        this.seen.set(itemId, Number.isNaN(time) ? 0 : time)
      }
      const parsed = parseAzureRow(withAdditionalFields(row), {
        source: { kind: 'azure', name: this.name },
        server: this.cfg.server,
      })
      if (isDeadLetter(parsed)) {
        out.deadLetters.push(parsed)
        continue
      }
      if (itemId) {
        // Log Analytics' own row id: the same row read twice (overlap, backfill) gets the same record id.
        parsed.id = recordId(this.name, itemId)
        parsed.source = { kind: 'azure', name: this.name, position: itemId }
      }
      const mapped = this.cfg.server ?? this.cfg.servers[parsed.server]
      if (mapped) parsed.server = mapped
      out.records.push(parsed)
    }
    return out
  }
}

/** Response header carrying the tables a 400 names as unresolved (set by the client's policy, index.ts). */
export const UNRESOLVED_TABLES_HEADER = 'x-connrca-unresolved-tables'

/**
 * The tables a 400's body says cannot be resolved. Its top-level message is generic; the SEM0100
 * text ("'where' operator: Failed to resolve table or column expression named 'X'") is nested in
 * `innererror.innererror`, or carried as JSON text in `innererror.information.details`. The raw
 * body is searched as text, so either shape (and the wordings without "or column") is found.
 */
export function unresolvedTables(body: string): string[] {
  return [...body.matchAll(/Failed to resolve table (?:or column )?(?:or scalar )?expression named '([^'\\]+)'/g)].map(
    (m) => m[1],
  )
}

/**
 * Fields that did not fit into AzureDiagnostics' 500 columns are properties of the dynamic
 * AdditionalFields, named without the column's type suffix (`sqlerrcode`, not `sqlerrcode_s`):
 * each empty projected column is filled from its property.
 */
function withAdditionalFields(row: Record<string, unknown>): Record<string, unknown> {
  let extra = row.AdditionalFields
  if (typeof extra === 'string') {
    try {
      extra = JSON.parse(extra)
    } catch {
      extra = undefined
    }
  }
  if (!extra || typeof extra !== 'object') return row
  const bag = extra as Record<string, unknown>
  const out = { ...row }
  for (const [column, value] of Object.entries(row)) {
    if (value !== undefined && value !== null && value !== '') continue
    const v = bag[column.replace(/_[a-z]$/, '')] ?? bag[column]
    if (typeof v === 'string' || typeof v === 'number') out[column] = v
  }
  return out
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

function rowsOf(
  table: { columnDescriptors: Array<{ name?: string }>; rows: unknown[][] } | undefined,
): Array<Record<string, unknown>> {
  if (!table) return []
  const names = table.columnDescriptors.map((c) => c.name ?? '')
  return table.rows.map((r) => {
    const o: Record<string, unknown> = {}
    for (let i = 0; i < names.length; i++) {
      const v = r[i]
      // The SDK turns datetime columns into Dates; the row parser reads ISO text.
      o[names[i]] = v instanceof Date ? v.toISOString() : v
    }
    return o
  })
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(v: string | undefined): number | undefined {
  if (!v) return undefined
  const s = Number(v)
  if (Number.isFinite(s)) return Math.max(0, s * 1000)
  const d = Date.parse(v)
  return Number.isNaN(d) ? undefined : Math.max(0, d - Date.now())
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function oneLine(s: string | undefined): string {
  return (s ?? 'no message').replace(/\s+/g, ' ').slice(0, 300)
}
