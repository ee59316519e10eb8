import type { Category } from '@connrca/contracts'
import type { Store } from './open-store.js'

/** Failures of one server × category in one hour of one UTC day (@connrca/rca's HourlyFailures). */
export interface HourlyFailureRow {
  server: string
  category: Category
  /** UTC day: epoch ms / 86 400 000, floored. */
  day: number
  /** 0–23, UTC. */
  hour: number
  failures: number
}

/**
 * The history baselines learn from on a fresh start: failures per server × category × UTC day ×
 * hour from the stored window counts of the `days` whole days before each server's newest stored
 * day. That newest day is left out: it may be incomplete, and a pipeline re-reading its input
 * counts it again from the windows it emits. Only tumbling windows of `windowMs` are read
 * (hopping overlaps would double count).
 */
export async function baselineHistory(
  store: Pick<Store, 'query'>,
  q: { days: number; windowMs: number },
): Promise<HourlyFailureRow[]> {
  const rows = await store.query<{ server: string; category: Category; day: string; hour: string; failures: string }>(
    `SELECT w.server AS server, category, toUInt32(toDate(window_start)) AS day, toHour(window_start) AS hour,
            sum(failures) AS failures
     FROM window_counts AS w FINAL
     INNER JOIN (
       SELECT server, toUInt32(toDate(max(window_start))) AS newest FROM window_counts GROUP BY server
     ) AS n ON w.server = n.server
     WHERE toUInt32(toDate(window_start)) < n.newest
       AND toUInt32(toDate(window_start)) >= n.newest - {days:UInt32}
       AND toUnixTimestamp64Milli(window_end) - toUnixTimestamp64Milli(window_start) = {w:Int64}
       AND toUnixTimestamp64Milli(window_start) % {w:Int64} = 0
     GROUP BY server, category, day, hour
     HAVING failures > 0
     ORDER BY server, category, day, hour`,
    { days: q.days, w: q.windowMs },
  )
  return rows.map((r) => ({
    server: r.server,
    category: r.category,
    day: Number(r.day),
    hour: Number(r.hour),
    failures: Number(r.failures),
  }))
}
