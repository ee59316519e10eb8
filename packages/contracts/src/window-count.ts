import { z } from 'zod'
import { Category } from './connection-event.js'

export const TopEntry = z.object({ value: z.string(), count: z.number() })
export type TopEntry = z.infer<typeof TopEntry>

/** A counting map as a top list: highest counts first, ties by value so output is deterministic. */
export function topEntries(m: Map<string, number>, n: number): TopEntry[] {
  const all: TopEntry[] = []
  for (const [value, count] of m) all.push({ value, count })
  all.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
  if (all.length > n) all.length = n
  return all
}

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

/**
 * Every client, user and database of a window's failures with its count (a WindowCount keeps the
 * top N only). Handed from the windows to the incident tracker in the same stage, so an
 * incident's top lists are exact sums, not sums of per-window top lists.
 */
export interface WindowTallies {
  clients: TopEntry[]
  users: TopEntry[]
  databases: TopEntry[]
}
