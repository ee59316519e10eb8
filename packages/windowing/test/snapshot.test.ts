import type { ConnectionEvent, WindowCount } from '@connrca/contracts'
import { CATEGORIES } from '@connrca/contracts'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WindowAggregator, type WindowOptions } from '../src/index.js'
import { MIN, T0 } from './helpers.js'

type Op = { kind: 'add'; e: ConnectionEvent; now: number } | { kind: 'tick'; now: number }

/** Event times wander forward with jitter (out of order, sometimes very late); processing time only grows. */
const opsArb = fc
  .array(
    fc.record({
      tick: fc.boolean(),
      dt: fc.integer({ min: -8 * MIN, max: 3 * MIN }),
      dnow: fc.integer({ min: 0, max: 90_000 }),
      server: fc.constantFrom('a', 'b'),
      outcome: fc.constantFrom('received', 'failed', 'failed', 'authorized'),
      cat: fc.integer({ min: 0, max: CATEGORIES.length - 1 }),
      ip: fc.integer({ min: 1, max: 6 }),
    }),
    { minLength: 1, maxLength: 120 },
  )
  .map((steps) => {
    let t = T0
    let now = 0
    return steps.map((s, i): Op => {
      now += s.dnow
      if (s.tick) return { kind: 'tick', now }
      t += Math.max(0, s.dt + 2 * MIN) // mostly forward
      const time = t + Math.min(0, s.dt)
      const e: ConnectionEvent = {
        id: `e${i}`,
        server: s.server,
        time,
        outcome: s.outcome as ConnectionEvent['outcome'],
        category: s.outcome === 'failed' ? CATEGORIES[s.cat] : undefined,
        clientIp: `10.0.0.${s.ip}`,
        user: `u${s.ip % 3}`,
        message: `m${s.ip}`,
      }
      return { kind: 'add', e, now }
    })
  })

function run(agg: WindowAggregator, ops: Op[]) {
  for (const op of ops) op.kind === 'add' ? agg.add(op.e, op.now) : agg.tick(op.now)
}

const options: WindowOptions[] = [
  { windowMs: 5 * MIN, allowedLatenessMs: 2 * MIN, idleTimeoutMs: 30_000 },
  { windowMs: 10 * MIN, hopMs: 5 * MIN, allowedLatenessMs: 2 * MIN, idleTimeoutMs: 60_000 },
]

describe('snapshot/restore', () => {
  for (const o of options) {
    it(`a restored aggregator continues exactly like the original (hop ${o.hopMs ?? 'none'})`, () => {
      fc.assert(
        fc.property(opsArb, fc.nat(), (ops, cut) => {
          const k = cut % (ops.length + 1)
          const straight: WindowCount[] = []
          const a = new WindowAggregator(o, (w) => straight.push(w))
          run(a, ops)
          a.flushAll()

          const split: WindowCount[] = []
          const b1 = new WindowAggregator(o, (w) => split.push(w))
          run(b1, ops.slice(0, k))
          const state = JSON.parse(JSON.stringify(b1.snapshot()))
          const b2 = WindowAggregator.restore(o, (w) => split.push(w), state)
          run(b2, ops.slice(k))
          b2.flushAll()

          expect(split).toEqual(straight)
          expect(b2.lateDropped).toBe(a.lateDropped)
          expect(b2.watermark).toBe(a.watermark)
        }),
        { numRuns: 200 },
      )
    })
  }

  it('counts every failure exactly once per window it belongs to, or as late_dropped', () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const latest = new Map<string, WindowCount>()
        const agg = new WindowAggregator(options[0], (w) => latest.set(`${w.server}|${w.category}|${w.windowStart}`, w))
        let failures = 0
        let droppedBefore = 0
        let droppedFailures = 0
        for (const op of ops) {
          if (op.kind === 'tick') {
            agg.tick(op.now)
            continue
          }
          agg.add(op.e, op.now)
          if (op.e.outcome === 'failed') {
            failures++
            if (agg.lateDropped > droppedBefore) droppedFailures++
          }
          droppedBefore = agg.lateDropped
        }
        agg.flushAll()
        let counted = 0
        for (const w of latest.values()) counted += w.failures
        expect(counted + droppedFailures).toBe(failures)
      }),
      { numRuns: 200 },
    )
  })

  it('refuses a foreign state with one clear line', () => {
    expect(() => WindowAggregator.restore(options[0], () => {}, { nope: 1 })).toThrow(
      /windowing: cannot restore checkpoint: not a connrca.windowing.v1 snapshot/,
    )
  })
})
