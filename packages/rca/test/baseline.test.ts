import type { WindowCount } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { BaselineLearner, type BaselineOptions, IncidentTracker, poissonThreshold } from '../src/index.js'

const W = 300_000
const DAY = 86_400_000
const T0 = Date.UTC(2026, 2, 2)
const win = (
  t: number,
  failures: number,
  category: WindowCount['category'] = 'network',
  revision = 1,
): WindowCount => ({
  server: 's',
  category,
  windowStart: t,
  windowEnd: t + W,
  failures,
  attempts: 100,
  distinctClients: 1,
  firstFailure: t,
  lastFailure: t + 1,
  reasons: [],
  topClients: [],
  topUsers: [],
  topDatabases: [],
  revision,
})
const OPTS: BaselineOptions = { windowMs: W, learnDays: 7, minDays: 3, revisionsWithinMs: 3 * W }

/** `days` days of a trickle of `perWindow` failures in every window (deterministic, no randomness). */
function trickle(l: BaselineLearner, days: number, perWindow: (i: number) => number) {
  for (let i = 0; i < (days * DAY) / W; i++) {
    const w = win(T0 + i * W, perWindow(i))
    l.observe(w)
    l.threshold(w.server, w.category, w.windowStart)
  }
}

describe('poissonThreshold', () => {
  it('the failures a normal window reaches less than once in 1/p windows', () => {
    expect(poissonThreshold(0)).toBe(1)
    // probe trickle 0.5/min = 2.5 per 5-minute window: P(X >= 9) = 0.0011, P(X >= 10) = 0.0003
    expect(poissonThreshold(2.5, 0.001)).toBe(10)
    expect(poissonThreshold(0.25, 0.001)).toBe(4)
    // default p = 1e-4: P(X >= 10) = 0.00028, P(X >= 11) = 0.00007
    expect(poissonThreshold(2.5)).toBe(11)
  })
})

describe('BaselineLearner', () => {
  it('learns a trickle after minDays days; a departure still opens; the fixed threshold stays the floor', () => {
    const l = new BaselineLearner({ ...OPTS, floor: { auth_fail: 2 } })
    trickle(l, 2, (i) => [2, 3, 2, 3][i % 4]) // mean 2.5
    const day2 = T0 + 2 * DAY
    expect(l.threshold('s', 'network', day2)).toBe(1) // two days of history: below minDays
    trickle(l, 3, (i) => [2, 3, 2, 3][i % 4])
    const day3 = T0 + 3 * DAY
    expect(l.threshold('s', 'network', day3)).toBe(11)
    expect(l.threshold('s', 'auth_fail', day3)).toBe(2) // nothing learned: the floor
    expect(l.threshold('x', 'network', day3)).toBe(1) // unknown server

    const opened: number[] = []
    const t = new IncidentTracker({ windowMs: W, thresholdFor: (s, c, ws) => l.threshold(s, c, ws) }, (e) => {
      if (e.status === 'open') opened.push(e.count)
    })
    for (const [i, f] of [3, 2, 4, 0, 3, 25, 30, 2, 0, 0].entries()) {
      const w = win(day3 + 6 * 3_600_000 + i * W, f)
      l.observe(w)
      t.onWindow(w)
    }
    expect(opened).toEqual([25]) // only the burst; with threshold 1 the trickle itself would open
  })

  it('the median keeps one incident day from becoming the normal', () => {
    const l = new BaselineLearner(OPTS)
    // day 0: 40 failures per window all day (an incident); days 1 and 2: none
    trickle(l, 3, (i) => (i < DAY / W ? 40 : 0))
    expect(l.threshold('s', 'network', T0 + 3 * DAY + 3_600_000)).toBe(1)
  })

  it('counts a revised window once, and ignores replayed windows of days loaded from the store', () => {
    const a = new BaselineLearner(OPTS)
    const b = new BaselineLearner(OPTS)
    for (let d = 0; d < 3; d++) {
      for (let h = 0; h < 24; h++) {
        const t = T0 + d * DAY + h * 3_600_000
        a.observe(win(t, 30))
        b.observe(win(t, 10))
        b.observe(win(t, 30, 'network', 2)) // late data: the same window revised
      }
    }
    const day3 = T0 + 3 * DAY
    expect(b.thresholdsOf('s', day3 / DAY)).toEqual(a.thresholdsOf('s', day3 / DAY))
    expect(a.threshold('s', 'network', day3)).toBe(poissonThreshold(30 / 12))

    // the same history from the store, then the same windows replayed (a fresh start re-reading its input)
    const seeded = new BaselineLearner(OPTS)
    seeded.seed(
      Array.from({ length: 72 }, (_, i) => ({
        server: 's',
        category: 'network' as const,
        day: T0 / DAY + Math.floor(i / 24),
        hour: i % 24,
        failures: 30,
      })),
    )
    for (let d = 0; d < 3; d++) for (let h = 0; h < 24; h++) seeded.observe(win(T0 + d * DAY + h * 3_600_000, 30))
    expect(seeded.thresholdsOf('s', day3 / DAY)).toEqual(a.thresholdsOf('s', day3 / DAY))
  })

  it('a day keeps the thresholds it started with, also after a snapshot and restore', () => {
    const l = new BaselineLearner(OPTS)
    trickle(l, 3, () => 3)
    const day3 = T0 + 3 * DAY
    const before = l.threshold('s', 'network', day3)
    const restored = BaselineLearner.restore(OPTS, JSON.parse(JSON.stringify(l.snapshot())))
    // a late revision of the previous day after the day began does not move its thresholds
    for (const x of [l, restored]) x.observe(win(day3 - W, 500, 'network', 2))
    expect(l.threshold('s', 'network', day3 + 3_600_000 * 23)).toBe(l.thresholdsOf('s', day3 / DAY).get('network|23'))
    expect(l.threshold('s', 'network', day3)).toBe(before)
    expect(restored.threshold('s', 'network', day3)).toBe(before)
    expect(restored.snapshot()).toEqual(l.snapshot())
  })
})
