import { z } from 'zod'

export const ApiSqlLimits = z.object({
  /** Rows returned by an ad-hoc query; more are cut off and the result is marked truncated. */
  maxRows: z.number().int().positive().max(1_000_000).default(10_000),
  /** Seconds a query may run before ClickHouse stops it. */
  timeoutSec: z.number().int().positive().max(600).default(10),
})
export type ApiSqlLimits = z.infer<typeof ApiSqlLimits>

export const ApiConfig = z.object({
  enabled: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Bearer token; may be omitted only when bound to loopback. */
  token: z.string().optional(),
  /** Origins allowed to call the API from a browser; empty = CORS off (same-origin only). */
  cors: z.array(z.string()).default([]),
  /** Request bodies larger than this are refused with 413. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  /** Longest time range a JSON query may span. */
  maxRangeDays: z.number().int().positive().max(400).default(93),
  sql: ApiSqlLimits.default({ maxRows: 10_000, timeoutSec: 10 }),
})
export type ApiConfig = z.infer<typeof ApiConfig>
