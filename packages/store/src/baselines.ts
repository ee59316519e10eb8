import type { Category } from '@connrca/contracts'
import type { Store } from './open-store.js'

/** The shape @connrca/rca's Baselines takes (BaselineRow). */
export interface LearnedRate {
  server: string
  category: Category
  /** 0–23, UTC. */
  hour: number
  perWindow: number
}

/**
 * Normal failure rates per server × category × hour of day (UTC) from the stored window counts of
 * [from, to): for each hour, the median over the days of the range of that hour's failures, per
 * window. The median keeps a day with an incident from becoming the normal; days without a row
 * count as 0. Only tumbling windows of `windowMs` are read (hopping overlaps would double count).
 */
export async function learnBaselines(
  store: Store,
  q: { from: number; to: number; windowMs: number },
): Promise<LearnedRate[]> {
  const days = Math.max(1, Math.round((q.to - q.from) / 86_400_000))
  const rows = await store.query<{ server: string; category: Category; hour: number; day: string; failures: string }>(
    `SELECT server, category, toHour(window_start) AS hour, toDate(window_start) AS day, sum(failures) AS failures
     FROM window_counts FINAL
     WHERE window_start >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
       AND window_start < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
       AND toUnixTimestamp64Milli(window_end) - toUnixTimestamp64Milli(window_start) = {w:Int64}
     GROUP BY server, category, hour, day
     ORDER BY server, category, hour, day`,
    { from: Math.floor(q.from), to: Math.floor(q.to), w: q.windowMs },
  )
  const perDay = new Map<string, number[]>()
  for (const r of rows) {
    const k = `${r.server}\u0000${r.category}\u0000${r.hour}`
    const list = perDay.get(k) ?? []
    list.push(Number(r.failures))
    perDay.set(k, list)
  }
  const windowsPerHour = 3_600_000 / q.windowMs
  const out: LearnedRate[] = []
  for (const [k, list] of perDay) {
    const [server, category, hour] = k.split('\u0000')
    const all = [...list, ...Array(Math.max(0, days - list.length)).fill(0)].sort((a, b) => a - b)
    const mid = all.length >> 1
    const median = all.length % 2 ? all[mid] : (all[mid - 1] + all[mid]) / 2
    out.push({ server, category: category as Category, hour: Number(hour), perWindow: median / windowsPerHour })
  }
  return out
}
