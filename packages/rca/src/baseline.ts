import type { Category, WindowCount } from '@connrca/contracts'

const DAY = 86_400_000
const HOUR = 3_600_000

/** Below this chance of a normal window reaching the threshold, a window is an anomaly. */
export const BASELINE_P = 0.0001

/**
 * Smallest n with P(X ≥ n) < p for X ~ Poisson(mean): the failures per window a normal hour
 * reaches only once in 1/p windows. Poisson because failures of a trickle (probes, stray wrong
 * passwords) arrive independently; 1 for a mean of 0.
 */
export function poissonThreshold(mean: number, p = BASELINE_P): number {
  if (!(mean > 0)) return 1
  let term = Math.exp(-mean) // P(X = 0)
  let below = term // P(X ≤ n)
  let n = 0
  while (1 - below >= p && n < 1_000_000) {
    n++
    term *= mean / n
    below += term
  }
  return n + 1
}

/** Failures of one server × category in one hour of one UTC day (what the store gives back). */
export interface HourlyFailures {
  server: string
  category: Category
  /** UTC day: epoch ms / 86 400 000, floored. */
  day: number
  /** 0–23, UTC. */
  hour: number
  failures: number
}

export interface BaselineOptions {
  windowMs: number
  /** The same hour of this many days before a window's day gives its normal rate (median). */
  learnDays: number
  /** With fewer days of history than this, the fixed thresholds alone apply. */
  minDays: number
  /** Chance of a normal window reaching the threshold (default BASELINE_P). */
  p?: number
  /** The fixed thresholds (pipeline.thresholds, default 1): never undercut. */
  floor?: Partial<Record<Category, number>>
  /** Revisions of a window arrive at most this long after its server's newest window (allowed lateness + a window). */
  revisionsWithinMs: number
}

interface ServerBaseline {
  firstDay: number
  newestStart: number
  /** `category|hour` → day → failures. */
  hours: Map<string, Map<number, number>>
  /** `category|windowStart` → failures of the latest revision, for windows that may still be revised. */
  recent: Map<string, number>
  /** Days loaded from the store: their windows, replayed, are not counted again. */
  seeded: Set<number>
  /** day → `category|hour` → threshold, fixed the first time the day is asked for. */
  frozen: Map<number, Map<string, number>>
}

export interface BaselineSnapshot {
  servers: Array<{
    server: string
    firstDay: number
    newestStart: number
    hours: Array<[string, Array<[number, number]>]>
    recent: Array<[string, number]>
    seeded: number[]
    frozen: Array<[number, Array<[string, number]>]>
  }>
}

/**
 * Learns each server × category's normal failures per hour of day from the windows the pipeline
 * emits (and, on a fresh start, the history in the store) and gives the threshold a window must
 * reach to be part of an incident: max(fixed threshold, poissonThreshold(normal rate)), where
 * the normal rate of hour h on day D is the median over the `learnDays` days before D of the
 * failures in hours h − 1 … h + 1, per window. The median keeps a day with an incident from
 * becoming the normal; the three hours give a low rate (a few wrong passwords an hour) enough
 * failures to be estimated from.
 *
 * Deterministic: the thresholds of day D are computed from days before D the first time a window
 * of D is judged and then kept (in the snapshot), so a restart or another batching of the same
 * input judges every window against the same numbers. A late revision of the previous day's last
 * windows that arrives after that moment counts for later days only.
 */
export class BaselineLearner {
  private readonly servers = new Map<string, ServerBaseline>()
  private readonly p: number

  constructor(private readonly opts: BaselineOptions) {
    this.p = opts.p ?? BASELINE_P
  }

  /** History from the store (fresh start only): whole days, not counted again when replayed. */
  seed(rows: HourlyFailures[]): void {
    for (const r of rows) {
      const s = this.server(r.server, r.day)
      s.firstDay = Math.min(s.firstDay, r.day)
      s.seeded.add(r.day)
      add(s.hours, `${r.category}|${r.hour}`, r.day, r.failures)
    }
  }

  /** Every window count (revisions included); call before the tracker judges it. */
  observe(w: WindowCount): void {
    const W = this.opts.windowMs
    if (w.windowEnd - w.windowStart !== W || w.windowStart % W !== 0) return
    const day = Math.floor(w.windowStart / DAY)
    const s = this.server(w.server, day)
    if (s.seeded.has(day) || w.windowStart < s.newestStart - this.opts.revisionsWithinMs) return
    const key = `${w.category}|${w.windowStart}`
    const delta = w.failures - (s.recent.get(key) ?? 0)
    s.recent.set(key, w.failures)
    if (delta !== 0) add(s.hours, `${w.category}|${hourOf(w.windowStart)}`, day, delta)
    s.firstDay = Math.min(s.firstDay, day)
    if (w.windowStart > s.newestStart) {
      const hourChanged = Math.floor(w.windowStart / HOUR) !== Math.floor(s.newestStart / HOUR)
      s.newestStart = w.windowStart
      if (hourChanged) this.prune(s)
    }
  }

  /** Failures per window at or above which a window of this server and category is failing. */
  threshold(server: string, category: Category, windowStart: number): number {
    const floor = this.opts.floor?.[category] ?? 1
    const s = this.servers.get(server)
    if (!s) return floor
    const day = Math.floor(windowStart / DAY)
    const table = s.frozen.get(day) ?? this.freeze(s, day)
    return Math.max(floor, table.get(`${category}|${hourOf(windowStart)}`) ?? 1)
  }

  /** The learned thresholds of one server for one day (for reports): `category|hour` → threshold. */
  thresholdsOf(server: string, day: number): ReadonlyMap<string, number> {
    const s = this.servers.get(server)
    return s ? (s.frozen.get(day) ?? this.freeze(s, day)) : new Map()
  }

  snapshot(): BaselineSnapshot {
    return {
      servers: [...this.servers].map(([server, s]) => ({
        server,
        firstDay: s.firstDay,
        newestStart: s.newestStart,
        hours: [...s.hours].map(([k, m]) => [k, [...m]]),
        recent: [...s.recent],
        seeded: [...s.seeded],
        frozen: [...s.frozen].map(([d, m]) => [d, [...m]]),
      })),
    }
  }

  static restore(opts: BaselineOptions, snap: BaselineSnapshot): BaselineLearner {
    const l = new BaselineLearner(opts)
    for (const s of snap.servers) {
      l.servers.set(s.server, {
        firstDay: s.firstDay,
        newestStart: s.newestStart,
        hours: new Map(s.hours.map(([k, days]) => [k, new Map(days)])),
        recent: new Map(s.recent),
        seeded: new Set(s.seeded),
        frozen: new Map(s.frozen.map(([d, m]) => [d, new Map(m)])),
      })
    }
    return l
  }

  private server(name: string, day: number): ServerBaseline {
    let s = this.servers.get(name)
    if (!s) {
      s = {
        firstDay: day,
        newestStart: 0,
        hours: new Map(),
        recent: new Map(),
        seeded: new Set(),
        frozen: new Map(),
      }
      this.servers.set(name, s)
    }
    return s
  }

  private freeze(s: ServerBaseline, day: number): Map<string, number> {
    const table = new Map<string, number>()
    const from = Math.max(day - this.opts.learnDays, s.firstDay)
    const days = day - from
    if (days >= this.opts.minDays) {
      const windowsPerHour = HOUR / this.opts.windowMs
      const categories = new Set([...s.hours.keys()].map((k) => k.slice(0, k.indexOf('|'))))
      for (const c of categories) {
        for (let h = 0; h < 24; h++) {
          // The hour and its two neighbours: three times the failures to estimate a low rate from.
          const span = [(h + 23) % 24, h, (h + 1) % 24].map((x) => s.hours.get(`${c}|${x}`))
          const values: number[] = []
          for (let d = from; d < day; d++) values.push(span.reduce((a, m) => a + (m?.get(d) ?? 0), 0))
          const t = poissonThreshold(median(values) / (3 * windowsPerHour), this.p)
          if (t > 1) table.set(`${c}|${h}`, t)
        }
      }
    }
    s.frozen.set(day, table)
    // The current and the previous day are all a server's windows (and late revisions) ask for.
    for (const d of s.frozen.keys()) if (d < day - 1) s.frozen.delete(d)
    return table
  }

  private prune(s: ServerBaseline): void {
    const horizon = s.newestStart - this.opts.revisionsWithinMs
    for (const [k] of s.recent) if (Number(k.slice(k.indexOf('|') + 1)) < horizon) s.recent.delete(k)
    const oldest = Math.floor(s.newestStart / DAY) - this.opts.learnDays - 1
    for (const [k, byDay] of s.hours) {
      for (const d of byDay.keys()) if (d < oldest) byDay.delete(d)
      if (byDay.size === 0) s.hours.delete(k)
    }
    for (const d of s.seeded) if (d < oldest) s.seeded.delete(d)
  }
}

function add(hours: Map<string, Map<number, number>>, key: string, day: number, n: number): void {
  let byDay = hours.get(key)
  if (!byDay) hours.set(key, (byDay = new Map()))
  byDay.set(day, (byDay.get(day) ?? 0) + n)
}

function hourOf(ms: number): number {
  return Math.floor((ms % DAY) / HOUR)
}

function median(sorted: number[]): number {
  const v = [...sorted].sort((a, b) => a - b)
  const mid = v.length >> 1
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}
