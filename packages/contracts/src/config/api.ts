import { z } from 'zod'

export const ApiSqlLimits = z.object({
  /** Rows returned by an ad-hoc query; more are cut off and the result is marked truncated. */
  maxRows: z.number().int().positive().max(1_000_000).default(10_000),
  /** Seconds a query may run before ClickHouse stops it. */
  timeoutSec: z.number().int().positive().max(600).default(10),
  /** Memory one query may use in the engine (max_memory_usage); beyond it the query stops with an error. */
  maxMemoryMB: z.number().int().positive().max(65_536).default(1024),
  /** Bytes of result rows one answer may carry; more rows are cut and the result is marked truncated. */
  maxResultBytes: z
    .number()
    .int()
    .positive()
    .max(1024 * 1024 * 1024)
    .default(16 * 1024 * 1024),
  /** Ad-hoc queries running at once; more are refused with 429. Each holds an engine thread while it runs. */
  maxConcurrent: z.number().int().positive().max(16).default(2),
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
  sql: ApiSqlLimits.default(ApiSqlLimits.parse({})),
})
export type ApiConfig = z.infer<typeof ApiConfig>
/** The `api` section as written: every field, nested ones included, may be left out. */
export type ApiConfigInput = z.input<typeof ApiConfig>
