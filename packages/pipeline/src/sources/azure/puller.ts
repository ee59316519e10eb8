import type { LogsQueryResult } from '@azure/monitor-query-logs'
import { type AzureSource as AzureConfig, type DeadLetter, type LogRecord, toMs } from '@connrca/contracts'
import { isDeadLetter, parseAzureRow, recordId } from '@connrca/pglog'
import { type AzureTable, buildQuery } from './kql.js'

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

/** One-line, secret-free error for the user. */
export class AzureQueryError extends Error {}

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

/**
 * Reads time ranges of one workspace: splits them into slices, splits a slice again when its
 * result would be truncated, retries throttling (honouring Retry-After) and transient failures
 * with exponential backoff, and drops rows already seen (by `_ItemId`) within the overlap.
 */
export class AzurePuller {
  private readonly maxSlice: number
  private readonly attempts: number
  private readonly initialBackoff: number
  private readonly maxBackoff: number
  /** `_ItemId` -> row time, for rows inside the overlap window. */
  readonly seen = new Map<string, number>()
  private missingTables = new Set<AzureTable>()

  constructor(
    private readonly cfg: AzureConfig,
    private readonly client: AzureQueryClient,
    private readonly name: string,
    private readonly log: (line: string) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.maxSlice = toMs(cfg.maxSlice)
    this.attempts = cfg.retry.attempts
    this.initialBackoff = toMs(cfg.retry.initialBackoff)
    this.maxBackoff = toMs(cfg.retry.maxBackoff)
  }

  /**
   * Reads [from, to) slice by slice in time order; `onSlice` gets each slice's new records and
   * must resolve when they are accepted downstream (then the slice counts as done).
   */
  async pull(
    from: number,
    to: number,
    onSlice: (result: SliceResult, sliceEnd: number) => Promise<void>,
    onProgress?: (p: PullProgress) => void,
  ): Promise<void> {
    const progress: PullProgress = { from, to, doneUntil: from, rows: 0, records: 0, duplicates: 0 }
    const stack: Array<[number, number]> = []
    for (let end = to; end > from; end -= this.maxSlice) stack.push([Math.max(from, end - this.maxSlice), end])
    while (stack.length > 0) {
      this.signal?.throwIfAborted()
      const [a, b] = stack.pop()!
      const fetched = await this.fetchSlice(a, b)
      if (fetched === 'split') {
        const mid = a + Math.floor((b - a) / 2)
        stack.push([mid, b], [a, mid])
        continue
      }
      const result = this.toRecords(fetched)
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

  private async fetchSlice(from: number, to: number): Promise<Array<Record<string, unknown>> | 'split'> {
    const take = this.cfg.maxRows + 1
    const rows: Array<Record<string, unknown>> = []
    for (const table of this.cfg.tables) {
      if (this.missingTables.has(table)) continue
      const query = buildQuery(table, from, to, { connectionsOnly: this.cfg.connectionsOnly, take })
      const res = await this.query(table, query, from, to)
      if (res === 'missing') continue
      if (res === 'truncated' || res.length > this.cfg.maxRows) {
        if (to - from > MIN_SLICE_MS) return 'split'
        this.log(
          `${this.name}: more than ${this.cfg.maxRows} rows in one second at ${new Date(from).toISOString()}; taking the first ${this.cfg.maxRows}`,
        )
        if (res === 'truncated') continue
      }
      for (const r of res) rows.push(r)
    }
    return rows
  }

  private async query(
    table: AzureTable,
    query: string,
    from: number,
    to: number,
  ): Promise<Array<Record<string, unknown>> | 'truncated' | 'missing'> {
    let backoff = this.initialBackoff
    for (let attempt = 1; ; attempt++) {
      let wait = backoff
      let why: string
      try {
        const res = await this.client.queryWorkspace(
          this.cfg.workspaceId,
          query,
          { startTime: new Date(from), endTime: new Date(to) },
          { abortSignal: this.signal, serverTimeoutInSeconds: 180 },
        )
        if (res.status === 'Success') return rowsOf(res.tables[0])
        const err = res.partialError
        const text = `${err.code ?? ''} ${err.message ?? ''} ${JSON.stringify((err as { details?: unknown }).details ?? '')}`
        if (/limit|exceed|truncat/i.test(text)) return 'truncated'
        // Other partial results may be missing rows from some shards: not safe to count as done.
        why = `partial result (${err.code}: ${err.message})`
      } catch (e) {
        this.signal?.throwIfAborted()
        const err = e as {
          statusCode?: number
          code?: string
          message?: string
          response?: { headers?: { get(n: string): string | undefined } }
        }
        const status = err.statusCode
        // No token to be had (no identity, wrong secret): retrying only delays the message.
        if (/^(CredentialUnavailableError|AuthenticationError|AggregateAuthenticationError)$/.test((e as Error).name ?? ''))
          throw new AzureQueryError(`${this.name}: cannot get a token for Log Analytics: ${oneLine(err.message)}`)
        if (
          status === 400 &&
          /resolve.*(table|expression)|SemanticError/i.test(`${err.code} ${err.message}`) &&
          !/column_ifexists/.test(err.message ?? '')
        ) {
          this.log(`${this.name}: table ${table} does not exist in workspace ${this.cfg.workspaceId}; skipping it`)
          this.missingTables.add(table)
          return 'missing'
        }
        if (status === 429) {
          const after = retryAfterMs(err.response?.headers?.get('retry-after'))
          wait = after ?? backoff
          why = 'throttled (429)'
        } else if (status === undefined || status >= 500 || status === 408) {
          why = status ? `HTTP ${status}` : `network error (${err.code ?? err.message})`
        } else {
          // 400/401/403/404: retrying will not help.
          throw new AzureQueryError(
            `${this.name}: query of workspace ${this.cfg.workspaceId} failed with HTTP ${status}: ${oneLine(err.message)}`,
          )
        }
      }
      if (attempt >= this.attempts) {
        throw new AzureQueryError(
          `${this.name}: giving up on ${table} ${iso(from)}..${iso(to)} after ${attempt} attempts: ${why}`,
        )
      }
      this.log(
        `${this.name}: ${why} for ${table} ${iso(from)}..${iso(to)}; retrying in ${Math.round(wait / 100) / 10} s`,
      )
      await sleep(wait, this.signal)
      backoff = Math.min(backoff * 2, this.maxBackoff)
    }
  }

  private toRecords(rows: Array<Record<string, unknown>>): SliceResult {
    const out: SliceResult = { records: [], deadLetters: [], rows: rows.length }
    for (const row of rows) {
      const itemId = typeof row._ItemId === 'string' && row._ItemId ? row._ItemId : undefined
      const time = Date.parse(String(row.TimeGenerated))
      if (itemId) {
        if (this.seen.has(itemId)) continue
        this.seen.set(itemId, Number.isNaN(time) ? 0 : time)
      }
      const parsed = parseAzureRow(row, { source: { kind: 'azure', name: this.name }, server: this.cfg.server })
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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        reject(signal.reason)
      },
      { once: true },
    )
  })
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function oneLine(s: string | undefined): string {
  return (s ?? 'no message').replace(/\s+/g, ' ').slice(0, 300)
}
