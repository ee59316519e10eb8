import type { ConnectionEvent } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { prng } from '../../../../test/support/prng.js'
import { SeenIds } from '../../src/stages/seen-ids.js'

const SEC = 1000
const event = (i: number, time: number, source = 'a.log'): ConnectionEvent => ({
  id: `${source}:${i}`,
  server: 's',
  time,
  outcome: 'failed',
  category: 'auth_fail',
  message: 'm',
  source: { kind: 'file', name: source, position: i * 100 },
})

describe('SeenIds', () => {
  const horizon = 40 * SEC // window 30 s + lateness 10 s

  it('an id offered twice is a duplicate while its window is held', () => {
    const seen = new SeenIds(horizon)
    expect(seen.duplicate(event(1, 0))).toBe(false)
    expect(seen.duplicate(event(1, 0))).toBe(true)
  })

  it('a re-published batch reaching further back than the horizon is a duplicate, not late; a late event from further on is not', () => {
    const seen = new SeenIds(horizon)
    // a classifier published 120 events, 1 s apart, then died before committing
    const batch = Array.from({ length: 120 }, (_, i) => event(i, i * SEC))
    for (const e of batch) expect(seen.duplicate(e)).toBe(false)
    seen.prune()
    // its successor publishes them again: every one is a duplicate (before: the 80 older than
    // the horizon were not, and the windows dropped them as late)
    const again = SeenIds.restore(horizon, seen.snapshot())
    expect(batch.filter((e) => !again.duplicate(e))).toEqual([])
    // a line written later in the file with an old timestamp is late, not a duplicate
    expect(again.duplicate(event(200, 5 * SEC))).toBe(false)
    // so is an old event of another file of the server
    expect(again.duplicate(event(3, 5 * SEC, 'b.log'))).toBe(false)
  })

  it('prune forgets the ids behind the horizon and keeps those inside', () => {
    const seen = new SeenIds(horizon)
    for (let i = 0; i < 100; i++) seen.duplicate(event(i, i * SEC))
    seen.prune()
    const ids = seen.snapshot()[0][1].map(([id]) => id)
    // newest 99 s: the horizon keeps 59..99
    expect(ids).toEqual(Array.from({ length: 41 }, (_, k) => `a.log:${59 + k}`))
    // an id kept is still a duplicate, one forgotten is judged by its position (a replay: duplicate)
    expect(seen.duplicate(event(59, 59 * SEC))).toBe(true)
    expect(seen.duplicate(event(10, 10 * SEC))).toBe(true)
  })

  it('restores checkpoints written before positions were kept', () => {
    const seen = SeenIds.restore(horizon, [['s', [['a.log:1', 100 * SEC]]]])
    expect(seen.duplicate(event(1, 100 * SEC))).toBe(true)
    expect(seen.duplicate(event(0, 0))).toBe(false)
  })

  it('forgets the ids behind the horizon as events are offered, not only when a checkpoint prunes', () => {
    const seen = new SeenIds(horizon)
    // a Kafka batch between two checkpoints: 20 000 events of one server, 1 s apart
    for (let i = 0; i < 20_000; i++) expect(seen.duplicate(event(i, i * SEC))).toBe(false)
    // snapshot() itself forgets nothing: what it holds is what was remembered
    expect(seen.snapshot()[0][1].length).toBeLessThanOrEqual(2048)
    // those inside the horizon are still known by id, the rest by position
    expect(seen.duplicate(event(19_990, 19_990 * SEC))).toBe(true)
    expect(seen.duplicate(event(5, 5 * SEC))).toBe(true)
  })

  it('answers as if it forgot only at checkpoints, for replays, late events and several servers and files', () => {
    const random = prng(7).next
    const seen = new SeenIds(horizon)
    const reference = new CheckpointOnlySeenIds(horizon)
    const offered: ConnectionEvent[] = []
    const next = new Map<string, number>()
    let clock = 0
    for (let step = 0; step < 60_000; step++) {
      const r = random()
      let e: ConnectionEvent
      if (r < 0.002 && offered.length > 0) {
        // a classifier died before committing: its successor publishes a stretch again
        const from = Math.floor(random() * offered.length)
        for (const again of offered.slice(from, from + 1 + Math.floor(random() * 3000)))
          expect(seen.duplicate(again)).toBe(reference.duplicate(again))
        continue
      }
      const server = `s${Math.floor(random() * 3)}`
      const source = `${server}-${random() < 0.5 ? 'a' : 'b'}.log`
      const i = next.get(source) ?? 0
      next.set(source, i + 1)
      // mostly in order, some a little out of order, a few far behind the horizon
      clock += Math.floor(random() * 400)
      const time = r < 0.01 ? Math.max(0, clock - 5 * horizon) : clock - Math.floor(random() * 2 * SEC)
      e = { ...event(i, time, source), server }
      offered.push(e)
      expect(seen.duplicate(e)).toBe(reference.duplicate(e))
      if (random() < 0.0005) {
        seen.prune()
        reference.prune()
      }
    }
    // and a checkpoint holds the same ids
    seen.prune()
    reference.prune()
    expect(seen.snapshot()).toEqual(reference.snapshot())
  })
})

/** SeenIds as it was before it forgot ids as they were offered: only prune() forgets. */
class CheckpointOnlySeenIds {
  private readonly servers = new Map<string, { max: number; ids: Map<string, number>; sources: Map<string, number> }>()
  constructor(private readonly horizonMs: number) {}

  duplicate(e: ConnectionEvent): boolean {
    let s = this.servers.get(e.server)
    if (!s) this.servers.set(e.server, (s = { max: Number.NEGATIVE_INFINITY, ids: new Map(), sources: new Map() }))
    if (s.ids.has(e.id)) return true
    const position = typeof e.source?.position === 'number' ? e.source.position : undefined
    if (e.time < s.max - this.horizonMs)
      return position !== undefined && position <= (s.sources.get(e.source!.name) ?? Number.NEGATIVE_INFINITY)
    s.ids.set(e.id, e.time)
    if (e.time > s.max) s.max = e.time
    if (position !== undefined && position > (s.sources.get(e.source!.name) ?? Number.NEGATIVE_INFINITY))
      s.sources.set(e.source!.name, position)
    return false
  }

  prune(): void {
    for (const s of this.servers.values()) {
      const limit = s.max - this.horizonMs
      for (const [id, t] of s.ids) {
        if (t >= limit) break
        s.ids.delete(id)
      }
    }
  }

  snapshot() {
    return [...this.servers].map(([server, s]) => [server, [...s.ids], [...s.sources]])
  }
}
