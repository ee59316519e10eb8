import type { Category } from '@connrca/contracts'

/** Normal failures per window of one server × category in one hour of the day (UTC). */
export interface BaselineRow {
  server: string
  category: Category
  /** 0–23, UTC. */
  hour: number
  /** Median over the learned days of that hour's failures, per window. */
  perWindow: number
}

/** Below this chance of a normal window reaching the threshold, a window is an anomaly. */
export const BASELINE_P = 0.001

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

/**
 * Per server × category × hour-of-day thresholds from the learned normal rates, with the fixed
 * thresholds (`pipeline.thresholds`, default 1) as a floor: a window opens an incident when its
 * failures reach max(floor, poissonThreshold(normal rate)). Servers or hours never seen keep the floor.
 */
export class Baselines {
  private readonly byKey = new Map<string, number>()

  constructor(
    rows: BaselineRow[],
    private readonly floor: Partial<Record<Category, number>> = {},
    p = BASELINE_P,
  ) {
    for (const r of rows)
      this.byKey.set(`${r.server}\u0000${r.category}\u0000${r.hour}`, poissonThreshold(r.perWindow, p))
  }

  threshold(server: string, category: Category, windowStart: number): number {
    const hour = new Date(windowStart).getUTCHours()
    const learned = this.byKey.get(`${server}\u0000${category}\u0000${hour}`) ?? 1
    return Math.max(this.floor[category] ?? 1, learned)
  }
}
