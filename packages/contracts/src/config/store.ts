import { z } from 'zod'
import { urlWithScheme } from './strict.js'

/** Embedded chDB on a data directory (default), or a ClickHouse server over HTTP. */
export const StoreConfig = z.object({
  /** `http(s)://host:8123` for a server; absent = embedded chDB. */
  url: urlWithScheme('http', 'https').optional(),
  dataDir: z.string().default('.connrca/data'),
  database: z.string().default('connrca'),
  username: z.string().default('default'),
  password: z.string().default(''),
  /**
   * Which connection events are stored row by row. Failures and received connections (the
   * failure ratio's denominator) by default; `authorized` and `closed` are counted in windows
   * either way, and storing them triples the rows of a busy server.
   */
  storeOutcomes: z
    .array(z.enum(['received', 'authorized', 'failed', 'closed']))
    .min(1)
    .default(['received', 'failed']),
  /** Days raw connection events are kept. */
  ttlDays: z.number().int().positive().default(30),
  batch: z
    .object({ maxRows: z.number().int().positive().default(50_000), maxWaitMs: z.number().int().positive().default(1000) })
    .default({ maxRows: 50_000, maxWaitMs: 1000 }),
})
export type StoreConfig = z.infer<typeof StoreConfig>
