import type { ConnectionEvent } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { diagnose, EvidenceCollector } from '../src/index.js'

const T0 = Date.UTC(2026, 2, 2, 10)
const W = 300_000
let n = 0
const ev = (p: Partial<ConnectionEvent>): ConnectionEvent => ({
  id: `e${n++}`,
  server: 's',
  time: T0,
  outcome: 'authorized',
  message: '',
  ...p,
})

describe('EvidenceCollector', () => {
  it('keeps at most maxKnown logins, maxSessions sessions and maxPerBucket clients per bucket', () => {
    const c = new EvidenceCollector({ bucketMs: W, maxKnown: 100, maxSessions: 50, maxPerBucket: 20 })
    for (let i = 0; i < 1000; i++) {
      c.observe(ev({ time: T0 + i, clientIp: `10.0.${i >> 8}.${i & 255}`, user: 'u', pid: i }))
      c.observe(
        ev({
          time: T0 + i,
          outcome: 'failed',
          category: 'auth_fail',
          clientIp: `10.1.${i >> 8}.${i & 255}`,
          user: `u${i}`,
        }),
      )
    }
    const snap = c.snapshot()
    const s = snap.servers[0]
    expect(s.logins.length).toBeLessThanOrEqual(100)
    expect(s.admitted.length).toBeLessThanOrEqual(100)
    expect(s.sessions.length).toBe(50)
    const f = s.buckets[0].fails[0][1]
    expect(f.clients.length).toBe(20)
    expect(f.n).toBe(1000)
    expect(f.overflow).toBe(980)
    // the most recently seen logins survive eviction
    const e = c.evidenceFor('s', 'auth_fail', T0, T0 + W, T0 + W)
    expect(e.admittedBefore('10.0.3.231', T0 + W)).toBe(true)
    expect(e.admittedBefore('10.0.0.0', T0 + W)).toBe(false)
  })

  it('logins of many users: the maxKnown most recently seen survive eviction, also across a restore', () => {
    // reference: one flat map keyed user\0client, the least recently seen quarter dropped when full
    const ref = new Map<string, number>()
    const refSee = (k: string, t: number) => {
      if (!ref.has(k)) {
        ref.set(k, t)
        if (ref.size > 40) {
          const byLast = [...ref].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
          for (let i = 0; i < byLast.length >> 2; i++) ref.delete(byLast[i][0])
        }
      } else if (t > (ref.get(k) as number)) ref.set(k, t)
    }
    let c = new EvidenceCollector({ bucketMs: W, maxKnown: 40 })
    for (let i = 0; i < 600; i++) {
      // users and clients cycle at different periods: logins of one user interleave with others'
      const user = `u${(i * 7) % 13}`
      const clientIp = `10.0.0.${(i * 5) % 11}`
      const time = T0 + Math.floor(i / 3) // ties in time: the key breaks them
      c.observe(ev({ time, clientIp, user }))
      refSee(`${user}\u0000${clientIp}`, time)
      if (i === 300) c = EvidenceCollector.restore({ bucketMs: W, maxKnown: 40 }, JSON.parse(JSON.stringify(c.snapshot())))
    }
    const kept = c.snapshot().servers[0].logins.map(([k]) => k)
    expect(kept.sort()).toEqual([...ref.keys()].sort())
    const e = c.evidenceFor('s', 'auth_fail', T0, T0 + W, T0 + W)
    for (let u = 0; u < 13; u++) {
      for (let h = 0; h < 11; h++) {
        expect(e.loggedInBefore(`u${u}`, `10.0.0.${h}`, T0 + W)).toBe(ref.has(`u${u}\u000010.0.0.${h}`))
      }
    }
  })

  it('sessions: the peak of concurrent sessions per bucket, from connection / disconnection pairs', () => {
    const c = new EvidenceCollector({ bucketMs: W })
    for (let i = 0; i < 30; i++) c.observe(ev({ time: T0 + i, pid: i, application: i < 20 ? 'a' : 'b', user: 'x' }))
    for (let i = 0; i < 25; i++) c.observe(ev({ time: T0 + 100 + i, pid: i, outcome: 'closed' }))
    c.observe(ev({ time: T0 + W + 5, pid: 99, application: 'b' }))
    c.observe(ev({ time: T0 + W + 6, outcome: 'failed', category: 'limit_reached', reason: 'too_many_clients' }))
    const e = c.evidenceFor('s', 'limit_reached', T0, T0 + 2 * W, T0 + 2 * W)
    expect(e.peakDuring).toEqual({
      peak: 30,
      apps: [
        ['a', 20],
        ['b', 10],
      ],
      users: [['x', 30]],
    })
    const next = c.evidenceFor('s', 'limit_reached', T0 + W, T0 + 2 * W, T0 + 2 * W)
    // 5 sessions carried into the second bucket, one more opened there
    expect(next.peakDuring?.peak).toBe(6)
    expect(next.peakBefore?.peak).toBe(30)
  })

  it('only events before asOf count for the recovery, whatever was read past it', () => {
    const c = new EvidenceCollector({ bucketMs: W })
    c.observe(ev({ time: T0, outcome: 'failed', category: 'transient', reason: 'shutting_down' }))
    c.observe(ev({ time: T0 + 20_000, outcome: 'failed', category: 'transient', reason: 'starting_up' }))
    c.observe(ev({ time: T0 + 41_000, clientIp: '10.0.0.1', user: 'u' }))
    const before = c.evidenceFor('s', 'transient', T0, T0 + W, T0 + 30_000)
    expect(before.recoveries[0].resumed).toBeUndefined()
    const after = c.evidenceFor('s', 'transient', T0, T0 + W, T0 + W)
    expect(after.recoveries[0]).toMatchObject({ down: T0, lastRefusal: T0 + 20_000, resumed: T0 + 41_000, refusals: 2 })
    expect(diagnose(after)[0].title).toBe('restart at 10:00:00, accepting connections again after 41 s')
  })

  it('restore(snapshot()) continues identically; a foreign snapshot is refused in one line', () => {
    const a = new EvidenceCollector({ bucketMs: W })
    const feed = (c: EvidenceCollector, from: number, to: number) => {
      for (let i = from; i < to; i++) {
        c.observe(
          ev({ time: T0 + i * 1000, clientIp: `10.0.0.${i % 7}`, user: `u${i % 3}`, pid: i, application: 'app' }),
        )
        if (i % 3 === 0) c.observe(ev({ time: T0 + i * 1000, pid: i - 1, outcome: 'closed' }))
        c.observe(
          ev({
            time: T0 + i * 1000 + 1,
            outcome: 'failed',
            category: 'auth_fail',
            clientIp: `10.0.0.${i % 5}`,
            user: 'u1',
          }),
        )
      }
    }
    feed(a, 0, 500)
    const b = EvidenceCollector.restore({ bucketMs: W }, JSON.parse(JSON.stringify(a.snapshot())))
    feed(a, 500, 900)
    feed(b, 500, 900)
    expect(b.snapshot()).toEqual(a.snapshot())
    expect(() => EvidenceCollector.restore({ bucketMs: W }, { format: 'x' })).toThrow(
      'evidence: cannot restore checkpoint: not a connrca.evidence.v1 snapshot',
    )
  })
})
