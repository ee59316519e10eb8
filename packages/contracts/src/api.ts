import { z } from 'zod'
import { Category } from './connection-event.js'
import { Persistence, RcaEvent, RcaSeverity, RcaStatus } from './rca-event.js'
import { WindowCount } from './window-count.js'

/**
 * HTTP API v1 contracts: query parameters, bodies and responses of `/api/v1/…`.
 * Query values arrive as strings; the schemas coerce them. Lists accept repeated keys
 * (`?server=a&server=b`) or commas (`?server=a,b`).
 */

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Hard ceiling for any range; `api.maxRangeDays` narrows it per deployment. */
export const API_MAX_RANGE_MS = 400 * DAY
/** Most buckets one time-series response may hold. */
export const API_MAX_POINTS = 2_000
export const API_DEFAULT_RANGE_MS = DAY

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY }

/** `5m`, `1h`, `90s` or plain milliseconds. */
/** Times must fall in years 1970–9999: anything else is a typo or an attack, and a bad query. */
const MAX_TIME_MS = 253_402_300_799_999
const inRange = (t: number) => (Number.isSafeInteger(t) && t >= 0 && t <= MAX_TIME_MS ? t : undefined)

export function parseDurationMs(v: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d|w)?$/.exec(v.trim())
  if (!m) return undefined
  return inRange(Number(m[1]) * (m[2] ? UNIT[m[2]] : 1))
}

/** Epoch ms, ISO 8601, `now` or `now-24h`. Relative values resolve against `now`. */
export function parseTimePoint(v: string, now: number): number | undefined {
  const s = v.trim()
  if (/^\d{10,}$/.test(s)) return inRange(Number(s))
  if (s === 'now') return now
  if (s.startsWith('now-')) {
    const d = parseDurationMs(s.slice(4))
    return d === undefined ? undefined : inRange(now - d)
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined
  return inRange(Date.parse(s))
}

const timePoint = z
  .string()
  .max(64)
  .describe('epoch milliseconds, ISO 8601 (`2024-05-01T10:00:00Z`), `now` or `now-24h`')

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d|w)?$/, 'expected a duration such as 5m, 1h, 30s or milliseconds')
  .describe('bucket width: `1m`, `5m`, `1h`, … or milliseconds; chosen automatically when absent')

function list<T extends z.ZodType<string>>(item: T, max = 50) {
  return z.preprocess((v) => {
    if (v === undefined || v === '') return undefined
    const parts = Array.isArray(v) ? v : [v]
    return parts.flatMap((p) => (typeof p === 'string' ? p.split(',') : [p])).filter((p) => p !== '')
  }, z.array(item).max(max).optional())
}

const serverName = z.string().min(1).max(256)

const rangeShape = {
  from: timePoint.optional().describe('range start (inclusive); default `to` minus 24 hours'),
  to: timePoint.optional().describe('range end (exclusive); default now'),
}

export const ServerFilter = list(serverName).describe('only these servers (repeat or comma-separate)')
export const CategoryFilter = list(Category).describe('only these failure categories')

export const FailuresGroupBy = z.enum(['category', 'server', 'reason', 'client'])
export type FailuresGroupBy = z.infer<typeof FailuresGroupBy>

export const FailuresQuery = z.object({
  ...rangeShape,
  step: duration.optional(),
  groupBy: FailuresGroupBy.default('category').describe(
    'one series per category (default), or per server / reason / client ip (top `limit`, rest as `other`)',
  ),
  server: ServerFilter,
  category: CategoryFilter,
  limit: z.coerce.number().int().min(1).max(50).default(10),
})
export type FailuresQuery = z.infer<typeof FailuresQuery>

export const RatioQuery = z.object({
  ...rangeShape,
  step: duration.optional(),
  server: ServerFilter,
  category: CategoryFilter,
  limit: z.coerce.number().int().min(1).max(50).default(5).describe('per-server series for the worst servers'),
})
export type RatioQuery = z.infer<typeof RatioQuery>

export const TopDimension = z.enum(['server', 'client', 'user', 'database'])
export type TopDimension = z.infer<typeof TopDimension>

export const TopQuery = z.object({
  ...rangeShape,
  by: TopDimension.default('server'),
  server: ServerFilter,
  category: CategoryFilter,
  limit: z.coerce.number().int().min(1).max(200).default(10),
})
export type TopQuery = z.infer<typeof TopQuery>

export const RcaListQuery = z.object({
  ...rangeShape,
  server: ServerFilter,
  category: CategoryFilter,
  status: list(RcaStatus),
  persistence: list(Persistence),
  severity: list(RcaSeverity),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
})
export type RcaListQuery = z.infer<typeof RcaListQuery>

export const RcaIdParams = z.object({ id: z.string().min(1).max(128) })

export const SqlFormat = z.enum(['json', 'csv', 'table'])
export type SqlFormat = z.infer<typeof SqlFormat>

export const SqlRequest = z.object({
  sql: z.string().min(1).max(100_000),
  format: SqlFormat.default('json'),
  /** Lowered to the server limit when larger. */
  maxRows: z.number().int().positive().optional(),
  timeoutSec: z.number().int().positive().optional(),
})
export type SqlRequest = z.infer<typeof SqlRequest>

/** Empty query: for routes without parameters. */
export const NoQuery = z.object({})

// ---------------------------------------------------------------- responses

export const ResolvedRange = z.object({ from: z.number(), to: z.number() })

export const Series = z.object({
  key: z.string(),
  label: z.string(),
  category: Category.optional(),
  values: z.array(z.number()),
  total: z.number(),
})
export type Series = z.infer<typeof Series>

export const FailuresResponse = ResolvedRange.extend({
  step: z.number(),
  groupBy: FailuresGroupBy,
  /** Bucket starts, epoch ms; every series has one value per bucket. */
  times: z.array(z.number()),
  series: z.array(Series),
  total: z.number(),
})
export type FailuresResponse = z.infer<typeof FailuresResponse>

export const RatioSeries = z.object({
  server: z.string(),
  /** failures / attempts per bucket; null where the server logged no attempts. */
  values: z.array(z.number().nullable()),
  failures: z.number(),
  attempts: z.number(),
  ratio: z.number().nullable(),
})
export const RatioResponse = ResolvedRange.extend({
  step: z.number(),
  times: z.array(z.number()),
  overall: RatioSeries.omit({ server: true }),
  servers: z.array(RatioSeries),
})
export type RatioResponse = z.infer<typeof RatioResponse>

export const TopRow = z.object({
  value: z.string(),
  failures: z.number(),
  byCategory: z.partialRecord(Category, z.number()),
  servers: z.number().optional(),
  lastFailure: z.number().nullable(),
})
export type TopRow = z.infer<typeof TopRow>
export const TopResponse = ResolvedRange.extend({ by: TopDimension, rows: z.array(TopRow), total: z.number() })
export type TopResponse = z.infer<typeof TopResponse>

export const RcaSummary = RcaEvent.pick({
  id: true,
  revision: true,
  status: true,
  server: true,
  category: true,
  count: true,
  attempts: true,
  firstFailure: true,
  lastFailure: true,
  persistence: true,
  severity: true,
  title: true,
  text: true,
  steps: true,
  suggestion: true,
  hypotheses: true,
  emittedAt: true,
})
export type RcaSummary = z.infer<typeof RcaSummary>
export const RcaListResponse = ResolvedRange.extend({ events: z.array(RcaSummary), total: z.number() })
export type RcaListResponse = z.infer<typeof RcaListResponse>

export const RcaDetailResponse = z.object({
  event: RcaEvent,
  /** Stored window counts of this server and category across the incident. */
  windowCounts: z.array(WindowCount),
  /** Revisions still in the table (opened, updated, resolved); merges keep only the latest. */
  revisions: z.array(z.object({ revision: z.number(), status: RcaStatus, count: z.number(), emittedAt: z.number() })),
})
export type RcaDetailResponse = z.infer<typeof RcaDetailResponse>

export const SourceHealth = z.object({
  name: z.string(),
  kind: z.string(),
  status: z.enum(['ok', 'idle', 'error', 'done', 'starting']),
  records: z.number().optional(),
  lastEventTime: z.number().optional(),
  lagMs: z.number().optional(),
  position: z.union([z.number(), z.string()]).optional(),
  error: z.string().optional(),
})
export type SourceHealth = z.infer<typeof SourceHealth>

export const StageHealth = z.object({
  name: z.string(),
  processed: z.number().optional(),
  failed: z.number().optional(),
  lagMs: z.number().optional(),
  watermark: z.number().optional(),
  /** Events that came after their windows were closed and purged: counted here, in no window. */
  lateDropped: z.number().optional(),
})
export type StageHealth = z.infer<typeof StageHealth>

/** What the running pipeline reports about itself (supplied by `connrca run` / the services). */
export const PipelineHealth = z.object({
  status: z.enum(['ok', 'degraded', 'starting', 'stopping']),
  startedAt: z.number().optional(),
  sources: z.array(SourceHealth).default([]),
  stages: z.array(StageHealth).default([]),
})
export type PipelineHealth = z.infer<typeof PipelineHealth>

export const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded', 'starting', 'stopping']),
  now: z.number(),
  pipeline: PipelineHealth.nullable(),
  store: z.object({
    database: z.string(),
    lastEventTime: z.number().nullable(),
    /** now minus the newest stored event time. */
    lagMs: z.number().nullable(),
    servers: z.array(z.object({ server: z.string(), lastEventTime: z.number(), events24h: z.number() })),
    deadLetters: z.object({
      total: z.number(),
      last24h: z.number(),
      byStage: z.array(z.object({ stage: z.string(), count: z.number(), lastTime: z.number() })),
    }),
    checkpoints: z.array(z.object({ name: z.string(), value: z.string(), updated: z.number() })),
  }),
})
export type HealthResponse = z.infer<typeof HealthResponse>

export const SqlColumn = z.object({ name: z.string(), type: z.string() })
export const SqlResponse = z.object({
  columns: z.array(SqlColumn),
  rows: z.array(z.array(z.unknown())),
  rowCount: z.number(),
  truncated: z.boolean(),
  elapsedMs: z.number(),
})
export type SqlResponse = z.infer<typeof SqlResponse>

export const ApiError = z.object({ error: z.object({ code: z.string(), message: z.string() }) })
export type ApiError = z.infer<typeof ApiError>
