import { z } from 'zod'

/** Embedded chDB on a data directory (default), or a ClickHouse server over HTTP. */
export const StoreConfig = z.object({
  /** `http(s)://host:8123` for a server; absent = embedded chDB. */
  url: z.string().url().optional(),
  dataDir: z.string().default('.connrca/data'),
  database: z.string().default('connrca'),
  username: z.string().default('default'),
  password: z.string().default(''),
  /** Days raw connection events are kept. */
  ttlDays: z.number().int().positive().default(30),
  batch: z
    .object({ maxRows: z.number().int().positive().default(50_000), maxWaitMs: z.number().int().positive().default(1000) })
    .default({ maxRows: 50_000, maxWaitMs: 1000 }),
})
export type StoreConfig = z.infer<typeof StoreConfig>
