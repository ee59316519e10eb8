import type { WindowCount } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { Baselines, IncidentTracker, poissonThreshold } from '../src/index.js'

const W = 300_000
const T0 = Date.UTC(2026, 2, 2, 3)
const win = (i: number, failures: number): WindowCount => ({
  server: 's',
  category: 'network',
  windowStart: T0 + i * W,
  windowEnd: T0 + (i + 1) * W,
  failures,
  attempts: 100,
  distinctClients: 1,
  firstFailure: T0 + i * W,
  lastFailure: T0 + i * W + 1,
  reasons: [],
  topClients: [],
  topUsers: [],
  topDatabases: [],
  revision: 1,
})

describe('baselines', () => {
  it('poissonThreshold: the failures a normal window reaches less than once in 1000', () => {
    expect(poissonThreshold(0)).toBe(1)
    // probe trickle 0.5/min = 2.5 per 5-minute window: P(X >= 9) = 0.0011, P(X >= 10) = 0.0003
    expect(poissonThreshold(2.5)).toBe(10)
    expect(poissonThreshold(0.25)).toBe(4)
  })

  it('a learned trickle stops opening incidents; a departure from it still does; the floor holds', () => {
    const b = new Baselines([{ server: 's', category: 'network', hour: 3, perWindow: 2.5 }], { auth_fail: 2 })
    expect(b.threshold('s', 'network', T0)).toBe(10)
    expect(b.threshold('s', 'network', T0 + 3_600_000)).toBe(1) // another hour: nothing learned
    expect(b.threshold('s', 'auth_fail', T0)).toBe(2) // floor
    const fixed: string[] = []
    const learned: string[] = []
    const feed = (t: IncidentTracker) => {
      for (const [i, f] of [3, 2, 4, 0, 3, 25, 30, 2, 0, 0].entries()) t.onWindow(win(i, f))
    }
    feed(new IncidentTracker({ windowMs: W }, (e) => e.status === 'open' && fixed.push(e.id)))
    feed(
      new IncidentTracker(
        { windowMs: W, thresholdFor: (s, c, t) => b.threshold(s, c, t) },
        (e) => e.status === 'open' && learned.push(e.id),
      ),
    )
    expect(fixed.length).toBe(2) // threshold 1: the trickle itself is an incident (windows 0–2), then 4–7
    expect(learned.length).toBe(1) // only the burst of 25 and 30
  })
})
