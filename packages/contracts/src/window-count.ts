import { z } from 'zod'
import { Category } from './connection-event.js'

export const TopEntry = z.object({ value: z.string(), count: z.number() })
export type TopEntry = z.infer<typeof TopEntry>

/** Failures of one server for one category in one event-time window. */
export const WindowCount = z.object({
  server: z.string(),
  category: Category,
  /** Window bounds, epoch ms, [start, end). */
  windowStart: z.number(),
  windowEnd: z.number(),
  failures: z.number(),
  /** Connections received by the server in the window (denominator of the failure ratio). */
  attempts: z.number(),
  distinctClients: z.number(),
  firstFailure: z.number(),
  lastFailure: z.number(),
  reasons: z.array(TopEntry),
  topClients: z.array(TopEntry),
  topUsers: z.array(TopEntry),
  topDatabases: z.array(TopEntry),
  /** 1 when first emitted; +1 for each late update. */
  revision: z.number(),
  /** Up to 3 distinct failure messages of the window, for RCA evidence. */
  sampleMessages: z.array(z.string()).optional(),
})
export type WindowCount = z.infer<typeof WindowCount>
