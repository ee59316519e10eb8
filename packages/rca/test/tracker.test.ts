import type { Category, ConnectionEvent, RcaEvent, WindowCount } from '@connrca/contracts'
// Relative: rca does not depend on windowing; only this end-to-end test uses both.
import { WindowAggregator } from '../../windowing/src/index.js'
import { describe, expect, it } from 'vitest'
import { IncidentTracker, incidentId, type RcaOptions } from '../src/index.js'

const MIN = 60_000
const W = 5 * MIN
const T0 = Date.UTC(2026, 2, 2, 10, 0)

/** A WindowCount of window index `i` (T0 + i·5 min) with `failures` spread over the window from `offset`. */
function wc(
  server: string,
  category: Category,
  i: number,
  failures: number,
  over: Partial<WindowCount> = {},
): WindowCount {
  const start = T0 + i * W
  return {
    server,
    category,
    windowStart: start,
    windowEnd: start + W,
    failures,
    attempts: 0,
    distinctClients: 1,
    firstFailure: start + 10_000,
    lastFailure: start + W - 10_000,
    reasons: [{ value: `${category}_r`, count: failures }],
    topClients: [{ value: '81.2.69.14', count: failures }],
    topUsers: [{ value: 'app', count: failures }],
    topDatabases: [{ value: 'orders', count: failures }],
    revision: 1,
    sampleMessages: [`${category} message`],
    ...over,
  }
}

function tracker(opts: Partial<RcaOptions> = {}) {
  const out: RcaEvent[] = []
  const t = new IncidentTracker({ windowMs: W, ...opts }, (e) => out.push(e))
  return { t, out }
}

const brief = (e: RcaEvent) => [e.status, e.revision, e.count]

describe('incident lifecycle', () => {
  it('opens, updates per window and resolves after a quiet window closes', () => {
    const { t, out } = tracker()
    t.onWindow(wc('a', 'auth_fail', 0, 10))
    t.onWindow(wc('a', 'auth_fail', 1, 20))
    t.onWindow(wc('a', 'auth_fail', 2, 5))
    t.onWatermark(T0 + 15 * MIN + W - 1) // quiet window [15,20) not closed yet
    expect(out.map(brief)).toEqual([
      ['open', 1, 10],
      ['updated', 2, 30],
      ['updated', 3, 35],
    ])
    t.onWatermark(T0 + 20 * MIN)
    expect(out.map(brief).at(-1)).toEqual(['resolved', 4, 35])
    const r = out.at(-1)!
    expect(r.id).toBe(incidentId('a', 'auth_fail', T0))
    expect(new Set(out.map((e) => e.id)).size).toBe(1)
    expect(r.emittedAt).toBe(T0 + 20 * MIN)
    expect(r.windows).toEqual(
      [0, 1, 2].map((i) => ({ start: T0 + i * W, end: T0 + (i + 1) * W, failures: [10, 20, 5][i] })),
    )
    expect(r.firstFailure).toBe(T0 + 10_000)
    expect(r.lastFailure).toBe(T0 + 15 * MIN - 10_000)
    expect(r.topUsers).toEqual([{ value: 'app', count: 35 }])
    expect(r.sampleMessages).toEqual(['auth_fail message'])
    t.onWatermark(T0 + 60 * MIN)
    expect(out).toHaveLength(4) // resolved once
  })

  it('uses per-category thresholds; a window below the threshold is the quiet window', () => {
    const { t, out } = tracker({ thresholds: { firewall_deny: 5 } })
    t.onWindow(wc('a', 'firewall_deny', 0, 4))
    expect(out).toHaveLength(0)
    t.onWindow(wc('a', 'auth_fail', 0, 1)) // default threshold 1
    t.onWindow(wc('a', 'firewall_deny', 1, 5))
    t.onWindow(wc('a', 'firewall_deny', 2, 4))
    expect(out.map((e) => [e.category, e.status, e.count])).toEqual([
      ['auth_fail', 'open', 1],
      ['firewall_deny', 'open', 5],
      ['auth_fail', 'resolved', 1], // window 2 of server a proves window 1 had no auth failures
      ['firewall_deny', 'resolved', 5],
    ])
    expect(out[3].emittedAt).toBe(T0 + 3 * W)
  })

  it('does not resolve on a later category of the same window, only on a later window', () => {
    const { t, out } = tracker()
    t.onWindow(wc('a', 'firewall_deny', 0, 3))
    t.onWindow(wc('a', 'auth_fail', 1, 1)) // same window as firewall's next one, arrives first
    t.onWindow(wc('a', 'firewall_deny', 1, 3))
    expect(out.filter((e) => e.category === 'firewall_deny').map(brief)).toEqual([
      ['open', 1, 3],
      ['updated', 2, 6],
    ])
    t.onWindow(wc('b', 'firewall_deny', 9, 3)) // another server says nothing about a
    expect(out.filter((e) => e.server === 'a' && e.status === 'resolved')).toHaveLength(0)
  })

  it('starts a new incident (new id) after a gap', () => {
    const { t, out } = tracker()
    t.onWindow(wc('a', 'network', 0, 2))
    t.onWindow(wc('a', 'network', 3, 2))
    expect(out.map((e) => [e.status, e.id])).toEqual([
      ['open', incidentId('a', 'network', T0)],
      ['resolved', incidentId('a', 'network', T0)],
      ['open', incidentId('a', 'network', T0 + 3 * W)],
    ])
  })

  it('replaces a late revision of a window instead of adding it twice', () => {
    const { t, out } = tracker()
    t.onWindow(wc('a', 'auth_fail', 0, 10))
    t.onWindow(wc('a', 'auth_fail', 1, 10))
    t.onWindow(wc('a', 'auth_fail', 0, 12, { revision: 2 }))
    expect(out.map(brief).at(-1)).toEqual(['updated', 3, 22])
  })

  it('updates a resolved incident on a late revision, and reopens it when its quiet window turns out to fail', () => {
    const { t, out } = tracker()
    t.onWindow(wc('a', 'tls_reject', 0, 3))
    t.onWatermark(T0 + 2 * W)
    expect(out.map(brief)).toEqual([
      ['open', 1, 3],
      ['resolved', 2, 3],
    ])
    t.onWindow(wc('a', 'tls_reject', 0, 4, { revision: 2 }))
    expect(out.map(brief).at(-1)).toEqual(['resolved', 3, 4])
    t.onWindow(wc('a', 'tls_reject', 1, 2)) // late first emission of the "quiet" window
    expect(out.map(brief).at(-1)).toEqual(['updated', 4, 6])
    expect(new Set(out.map((e) => e.id)).size).toBe(1)
    t.onWatermark(new Map([['a', T0 + 3 * W]]))
    expect(out.map(brief).at(-1)).toEqual(['resolved', 5, 6])
  })

  it('uses only the tumbling-equivalent windows in hopping mode', () => {
    const { t, out } = tracker()
    t.onWindow({ ...wc('a', 'auth_fail', 0, 3), windowStart: T0 + 150_000, windowEnd: T0 + 150_000 + W })
    t.onWindow({ ...wc('a', 'auth_fail', 0, 3), windowEnd: T0 + 2 * W }) // a 10-min window
    expect(out).toHaveLength(0)
  })

  it('keeps open incidents open at end of input unless the watermarks prove the quiet window', () => {
    const { t, out } = tracker()
    t.onWindow(wc('a', 'auth_fail', 0, 1))
    t.onWindow(wc('b', 'auth_fail', 0, 1))
    t.flushAll()
    expect(out).toHaveLength(2)
    expect(t.openIncidents).toBe(2)
    t.flushAll(
      new Map([
        ['a', T0 + 2 * W],
        ['b', T0 + W],
      ]),
    )
    expect(out.map((e) => [e.server, e.status])).toEqual([
      ['a', 'open'],
      ['b', 'open'],
      ['a', 'resolved'],
    ])
  })
})

describe('persistence and severity', () => {
  it('transient under 60 s → info; persistent beyond; critical when a blocking cause fails a lot', () => {
    const { t, out } = tracker()
    t.onWindow(wc('a', 'firewall_deny', 0, 412, { firstFailure: T0 + 1000, lastFailure: T0 + 50_000 }))
    expect(out[0]).toMatchObject({ persistence: 'transient', severity: 'info' })
    t.onWindow(wc('a', 'firewall_deny', 1, 10))
    expect(out[1]).toMatchObject({ persistence: 'persistent', severity: 'critical', count: 422 })
    t.onWindow(wc('a', 'network', 0, 500, { lastFailure: T0 + W - 1 }))
    expect(out[2]).toMatchObject({ persistence: 'persistent', severity: 'warning' })
    t.onWindow(wc('a', 'auth_fail', 0, 5, { attempts: 8, lastFailure: T0 + W - 1 }))
    expect(out[3]).toMatchObject({ severity: 'critical' }) // 5 of 8 connections failed
  })

  it('recurring: another incident of the same cause on the same server within 24 h of event time', () => {
    const { t, out } = tracker()
    t.onWindow(wc('a', 'transient', 0, 2))
    t.onWatermark(T0 + 2 * W)
    t.onWindow(wc('a', 'transient', 12, 2, { firstFailure: T0 + 60 * MIN, lastFailure: T0 + 60 * MIN + 5000 }))
    expect(out.at(-1)).toMatchObject({ status: 'open', persistence: 'recurring', severity: 'warning' })
    expect(out.at(-1)!.text).toContain('incident 2 of this kind')
    t.onWindow(wc('b', 'transient', 12, 2)) // other server: not recurring
    expect(out.at(-1)!.persistence).toBe('persistent')
    t.onWatermark(T0 + 24 * 60 * MIN)
    // 23.5 h after the second one (24.5 h after the first): only the second counts.
    const i = 12 + (23.5 * 60 * MIN) / W
    t.onWindow(wc('a', 'transient', i, 2))
    expect(out.at(-1)!.text).toContain('incident 2 of this kind')
    const j = i + (25 * 60 * MIN) / W
    t.onWatermark(T0 + j * W)
    t.onWindow(wc('a', 'transient', j, 2))
    expect(out.at(-1)!.persistence).toBe('persistent')
  })
})

describe('replays and restarts', () => {
  const script = (t: IncidentTracker) => {
    t.onWindow(wc('a', 'auth_fail', 0, 3))
    t.onWindow(wc('a', 'firewall_deny', 0, 9))
    t.onWindow(wc('a', 'auth_fail', 1, 3))
    t.onWatermark(T0 + 2 * W)
    t.onWindow(wc('a', 'firewall_deny', 1, 2, { revision: 1 }))
    t.onWindow(wc('a', 'auth_fail', 4, 3))
    t.onWatermark(T0 + 6 * W)
    t.onWindow(wc('a', 'auth_fail', 7, 3))
  }

  it('produces the same ids and events when the input is replayed', () => {
    const a = tracker()
    const b = tracker()
    script(a.t)
    script(b.t)
    expect(a.out.length).toBeGreaterThan(6)
    expect(b.out).toEqual(a.out)
  })

  it('a restored tracker continues exactly like the original', () => {
    const calls: ((t: IncidentTracker) => void)[] = [
      (t) => t.onWindow(wc('a', 'auth_fail', 0, 3)),
      (t) => t.onWindow(wc('a', 'auth_fail', 1, 3)),
      (t) => t.onWatermark(T0 + 3 * W),
      (t) => t.onWindow(wc('a', 'auth_fail', 1, 5, { revision: 2 })),
      (t) => t.onWindow(wc('a', 'auth_fail', 5, 3)),
      (t) => t.onWindow(wc('a', 'auth_fail', 6, 3)),
      (t) => t.flushAll(T0 + 8 * W),
    ]
    const straight = tracker()
    for (const c of calls) c(straight.t)
    for (let k = 0; k <= calls.length; k++) {
      const out: RcaEvent[] = []
      const t1 = new IncidentTracker({ windowMs: W }, (e) => out.push(e))
      calls.slice(0, k).forEach((c) => {
        c(t1)
      })
      const state = JSON.parse(JSON.stringify(t1.snapshot()))
      const t2 = IncidentTracker.restore({ windowMs: W }, (e) => out.push(e), state)
      calls.slice(k).forEach((c) => {
        c(t2)
      })
      expect(out, `cut at ${k}`).toEqual(straight.out)
    }
    expect(() => IncidentTracker.restore({ windowMs: W }, () => {}, {})).toThrow(/rca: cannot restore checkpoint/)
  })
})

describe('windowing → incidents', () => {
  it("an incident's top clients are exact sums, not sums of each window's top 5 (issue 11 defect 4)", () => {
    const out: RcaEvent[] = []
    const tr = new IncidentTracker({ windowMs: W }, (e) => out.push(e))
    const agg = new WindowAggregator({ windowMs: W, allowedLatenessMs: 0, idleTimeoutMs: 30_000 }, (w, all) =>
      tr.onWindow(w, all),
    )
    let n = 0
    const fail = (time: number, clientIp: string) =>
      agg.add({ id: `e${n++}`, server: 's', time, outcome: 'failed', category: 'auth_fail', clientIp, message: 'x' })
    // Each of 10 windows: 5 one-off clients fail twice (its top 5), the steady client once.
    for (let i = 0; i < 10; i++) {
      const t = T0 + i * W + 1000
      for (let k = 0; k < 5; k++) for (let j = 0; j < 2; j++) fail(t + k * 10 + j, `10.0.${i}.${k}`)
      fail(t + 100, '10.9.9.9')
      tr.onWatermark(agg.watermarks())
    }
    agg.flushAll()
    tr.flushAll(agg.watermarks())
    const last = out.at(-1)!
    expect(last.count).toBe(110)
    expect(last.topClients[0]).toEqual({ value: '10.9.9.9', count: 10 })
    expect(last.topClients.slice(1).every((c) => c.count === 2)).toBe(true)
  })

  it('turns a firewall storm into the documented RCA text', () => {
    const out: RcaEvent[] = []
    const tr = new IncidentTracker(
      { windowMs: W, servers: [{ name: 'orders-prod', flavour: 'flexible', region: 'West Europe' }] },
      (e) => out.push(e),
    )
    const agg = new WindowAggregator({ windowMs: W, allowedLatenessMs: 2 * MIN, idleTimeoutMs: 30_000 }, (w) =>
      tr.onWindow(w),
    )
    const start = T0 + 2 * MIN + 7_000 // 10:02:07
    const end = T0 + 47 * MIN + 30_000 // 10:47:30
    const n = 412
    for (let i = 0; i < n; i++) {
      const e: ConnectionEvent = {
        id: `f${i}`,
        server: 'orders-prod',
        time: Math.round(start + ((end - start) * i) / (n - 1)),
        outcome: 'failed',
        category: 'firewall_deny',
        reason: 'firewall_rule',
        clientIp: `81.2.69.${10 + (i % 40)}`,
        message: 'no pg_hba.conf entry for host "81.2.69.x"',
      }
      agg.add(e)
      tr.onWatermark(agg.watermarks())
    }
    agg.add({
      id: 'r',
      server: 'orders-prod',
      time: T0 + 70 * MIN,
      outcome: 'received',
      message: 'connection received',
    })
    tr.onWatermark(agg.watermarks())
    const last = out.at(-1)!
    expect(last.status).toBe('resolved')
    expect(last.count).toBe(412)
    expect(last.text).toMatch(
      /^412 connection attempts to PostgreSQL server orders-prod failed between 2026-03-02 10:02 and 10:47 UTC because of firewall rules\. /,
    )
    expect(last.suggestion).toMatchObject({ startIp: '81.2.69.0', endIp: '81.2.69.63', cidr: '81.2.69.0/26' })
    expect(last.severity).toBe('critical')
    expect(last.windows).toHaveLength(10)
    expect(new Set(out.map((e) => e.id)).size).toBe(1)
    expect(out.map((e) => e.revision)).toEqual(out.map((_, i) => i + 1))
  })
})
