import { describe, expect, it } from 'vitest'
import { WindowAggregator } from '../src/index.js'
import { collector, failed, MIN, opts, other, received, T0 } from './helpers.js'

describe('tumbling windows', () => {
  it('assigns [start, end) and fires when the watermark (max time − lateness) passes the end', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    agg.add(failed('a', T0, 'auth_fail'))
    agg.add(failed('a', T0 + 5 * MIN - 1, 'auth_fail'))
    agg.add(failed('a', T0 + 5 * MIN, 'auth_fail')) // next window
    expect(agg.watermark).toBe(T0 + 3 * MIN)
    agg.add(other('a', T0 + 7 * MIN - 1, 'authorized'))
    expect(c.out).toHaveLength(0)
    agg.add(other('a', T0 + 7 * MIN, 'closed')) // watermark reaches T0+5m exactly
    expect(c.out).toHaveLength(1)
    expect(c.out[0]).toMatchObject({
      server: 'a',
      category: 'auth_fail',
      windowStart: T0,
      windowEnd: T0 + 5 * MIN,
      failures: 2,
      firstFailure: T0,
      lastFailure: T0 + 5 * MIN - 1,
      revision: 1,
    })
    agg.flushAll()
    expect(c.out).toHaveLength(2)
    expect(c.out[1]).toMatchObject({ windowStart: T0 + 5 * MIN, failures: 1, revision: 1 })
  })

  it('emits one WindowCount per category, with the server attempts on each', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    for (let i = 0; i < 4; i++) agg.add(received('a', T0 + i * 1000))
    agg.add(failed('a', T0 + 10_000, 'firewall_deny', { clientIp: '81.2.69.1' }))
    agg.add(failed('a', T0 + 11_000, 'auth_fail', { clientIp: '10.0.0.1', user: 'app' }))
    agg.add(failed('a', T0 + 12_000, 'auth_fail', { clientIp: '10.0.0.1', user: 'app', reason: 'pw' }))
    agg.add(received('b', T0)) // other server: not mixed in
    agg.flushAll()
    const a = c.out.filter((w) => w.server === 'a')
    expect(a.map((w) => w.category)).toEqual(['firewall_deny', 'auth_fail'])
    expect(a.map((w) => w.attempts)).toEqual([4, 4])
    expect(a[1]).toMatchObject({ failures: 2, distinctClients: 1, topUsers: [{ value: 'app', count: 2 }] })
    expect(a[1].reasons).toEqual([
      { value: 'auth_fail_reason', count: 1 },
      { value: 'pw', count: 1 },
    ])
    // A window with attempts only is not emitted.
    expect(c.out.some((w) => w.server === 'b')).toBe(false)
  })

  it('keeps top-N counting maps, exact distinct clients and at most 3 distinct sample messages', () => {
    const c = collector()
    const agg = new WindowAggregator({ ...opts, topN: 2 }, c.emit)
    const ips = ['1.1.1.1', '1.1.1.1', '1.1.1.1', '2.2.2.2', '2.2.2.2', '3.3.3.3', '4.4.4.4']
    ips.forEach((ip, i) => {
      agg.add(failed('a', T0 + i, 'network', { clientIp: ip, database: `db${i % 2}`, message: `m${i % 4}` }))
    })
    agg.flushAll()
    expect(c.out).toHaveLength(1)
    const w = c.out[0]
    expect(w.distinctClients).toBe(4)
    expect(w.topClients).toEqual([
      { value: '1.1.1.1', count: 3 },
      { value: '2.2.2.2', count: 2 },
    ])
    expect(w.topDatabases).toEqual([
      { value: 'db0', count: 4 },
      { value: 'db1', count: 3 },
    ])
    expect(w.sampleMessages).toEqual(['m0', 'm1', 'm2'])
  })

  it('ignores authorized/closed events and failures without a category for counting', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    agg.add(other('a', T0, 'authorized'))
    agg.add({ ...failed('a', T0, 'auth_fail'), category: undefined })
    agg.flushAll()
    expect(c.out).toHaveLength(0)
    expect(agg.watermark).toBe(T0 + 5 * MIN)
  })
})

describe('hopping windows', () => {
  const hop = { ...opts, windowMs: 10 * MIN, hopMs: 5 * MIN }

  it('puts an event into windowMs/hopMs overlapping windows, aligned to the hop', () => {
    const c = collector()
    const agg = new WindowAggregator(hop, c.emit)
    agg.add(failed('a', T0 + 7 * MIN, 'tls_reject'))
    agg.add(failed('a', T0 + 10 * MIN, 'tls_reject')) // [5,15) and [10,20)
    agg.flushAll()
    const spans = c.out.map((w) => [(w.windowStart - T0) / MIN, (w.windowEnd - T0) / MIN, w.failures])
    expect(spans).toEqual([
      [0, 10, 1],
      [5, 15, 2],
      [10, 20, 1],
    ])
  })

  it('rejects a hop that does not divide the window, with one clear line', () => {
    expect(() => new WindowAggregator({ ...opts, hopMs: 2 * MIN }, () => {})).toThrow(
      /hop \(120000 ms\) must divide the window size \(300000 ms\)/,
    )
  })
})

describe('lateness', () => {
  it('counts out-of-order events within the lateness bound in their window, emitted once', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    agg.add(failed('a', T0 + 4 * MIN, 'auth_fail'))
    agg.add(failed('a', T0 + 6 * MIN, 'auth_fail'))
    agg.add(failed('a', T0 + 3 * MIN, 'auth_fail')) // 3 min behind the max, window still open
    agg.add(failed('a', T0 + 6 * MIN + 59_000, 'auth_fail'))
    agg.add(failed('a', T0 + 1 * MIN, 'auth_fail')) // 5m59 behind: window [0,5) still open (wm = 4m59)
    expect(agg.lateDropped).toBe(0)
    agg.add(received('a', T0 + 7 * MIN))
    expect(c.out).toHaveLength(1)
    expect(c.out[0]).toMatchObject({ windowStart: T0, failures: 3, firstFailure: T0 + MIN, revision: 1 })
  })

  it('drops events whose window the event-time watermark has passed, counting late_dropped', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    agg.add(failed('a', T0 + MIN, 'auth_fail'))
    agg.add(received('a', T0 + 8 * MIN)) // wm = 6m: window [0,5) fired and purged
    expect(c.out).toHaveLength(1)
    agg.add(failed('a', T0 + 4 * MIN, 'auth_fail'))
    agg.add(received('a', T0 + 2 * MIN))
    expect(agg.lateDropped).toBe(2)
    agg.flushAll()
    expect(c.out).toHaveLength(1)
    expect(c.out[0].failures).toBe(1)
  })

  it('keeps one watermark per server so a lagging server is not dropped', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    agg.add(failed('a', T0 + 60 * MIN, 'auth_fail'))
    agg.add(failed('b', T0, 'auth_fail'))
    expect(agg.lateDropped).toBe(0)
    expect(agg.watermarkOf('a')).toBe(T0 + 58 * MIN)
    expect(agg.watermarkOf('b')).toBe(T0 - 2 * MIN)
    expect(agg.watermark).toBe(T0 - 2 * MIN)
  })
})

describe('idle timeout', () => {
  it('advances the watermark with processing time once a server is silent, then accepts late revisions', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    const now = 1_000_000
    agg.add(failed('a', T0 + MIN, 'firewall_deny'), now)
    agg.add(failed('a', T0 + 2 * MIN, 'firewall_deny'), now)
    agg.tick(now + 29_999)
    expect(agg.watermark).toBe(T0)
    expect(c.out).toHaveLength(0)
    agg.tick(now + 30_000) // idle: event time runs on from the max (2m) with the wall clock
    expect(agg.watermark).toBe(T0 + 2 * MIN + 30_000)
    expect(c.out).toHaveLength(0)
    agg.tick(now + 3 * MIN) // 2m + 3m = 5m: the window closes although no newer event came
    expect(c.out).toHaveLength(1)
    expect(c.out[0]).toMatchObject({ failures: 2, revision: 1 })

    // A straggler within the lateness of the max event time updates the fired window: revision 2.
    agg.add(failed('a', T0 + MIN / 2, 'firewall_deny'), now + 4 * MIN)
    agg.add(failed('a', T0 + MIN / 3, 'firewall_deny'), now + 4 * MIN)
    expect(c.out).toHaveLength(1) // coalesced until the next tick
    agg.tick(now + 4 * MIN + 1000)
    expect(c.out).toHaveLength(2)
    expect(c.out[1]).toMatchObject({ failures: 4, revision: 2, firstFailure: T0 + MIN / 3 })
    expect(agg.lateDropped).toBe(0)
  })

  it('starts the idle clock at the first tick when events carry no processing time', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    agg.add(failed('a', T0, 'transient'))
    agg.tick(500)
    agg.tick(500 + 29_999)
    expect(agg.watermark).toBe(T0 - 2 * MIN)
    agg.tick(500 + 5 * MIN)
    expect(c.out).toHaveLength(1)
  })

  it('re-emits every category of a fired window when a late `received` changes its attempts', () => {
    const c = collector()
    const agg = new WindowAggregator(opts, c.emit)
    agg.add(failed('a', T0 + MIN, 'auth_fail'), 0)
    agg.add(failed('a', T0 + MIN, 'network'), 0)
    agg.tick(10 * MIN)
    expect(c.out.map((w) => [w.category, w.attempts, w.revision])).toEqual([
      ['auth_fail', 0, 1],
      ['network', 0, 1],
    ])
    agg.add(received('a', T0 + 30_000), 10 * MIN)
    agg.flushAll()
    expect(c.out.slice(2).map((w) => [w.category, w.attempts, w.revision])).toEqual([
      ['auth_fail', 1, 2],
      ['network', 1, 2],
    ])
  })
})

describe('bounded state', () => {
  it('holds a few windows per server however many events pass', () => {
    const agg = new WindowAggregator(opts, () => {})
    let maxOpen = 0
    for (let i = 0; i < 50_000; i++) {
      agg.add(failed(`s${i % 5}`, T0 + i * 1000, 'auth_fail', { clientIp: `10.0.${i % 7}.${i % 200}` }))
      if (i % 1000 === 0) maxOpen = Math.max(maxOpen, agg.openWindows)
    }
    // (window + lateness) / window → at most 2 windows per server, plus the one being filled.
    expect(maxOpen).toBeLessThanOrEqual(5 * 3)
  })
})
