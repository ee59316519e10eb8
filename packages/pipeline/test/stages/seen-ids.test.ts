import type { ConnectionEvent } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
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
})
