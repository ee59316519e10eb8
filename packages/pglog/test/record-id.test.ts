import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { recordId } from '../src/index.js'

/** FNV-1a 64 with BigInt, straight from its definition: what the split-half arithmetic must give. */
function reference(name: string, position: number | string): string {
  let h = 0xcbf29ce484222325n
  for (const b of Buffer.from(`${name}\n${position}`, 'utf8')) {
    h ^= BigInt(b)
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return h.toString(16).padStart(16, '0')
}

describe('recordId', () => {
  it('is FNV-1a 64 of source, newline, position', () => {
    expect(recordId('', 0)).toBe(reference('', 0))
    expect(recordId('/var/log/postgresql/postgresql-15-main.log', 1234567890123)).toBe(
      reference('/var/log/postgresql/postgresql-15-main.log', 1234567890123),
    )
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.oneof(fc.maxSafeNat(), fc.string({ maxLength: 20 })),
        (name, position) => {
          expect(recordId(name, position)).toBe(reference(name, position))
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('gives the same ids for positions in any order (the seed remembers the last leading digits)', () => {
    // one source, so one cached seed: neighbours share leading digits, then jumps back and forth
    const name = '/var/log/postgresql/postgresql.log'
    const positions = [1999, 2000, 2001, 2999, 999, 0, 1_000_999, 1_001_000, 1_000_001, 2000, 'row-7', 1_000_001, 42]
    for (const p of positions) expect(recordId(name, p)).toBe(reference(name, p))
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 5_000_000 }), { maxLength: 50 }), (ps) => {
        for (const p of ps) expect(recordId(name, p)).toBe(reference(name, p))
      }),
      { numRuns: 300 },
    )
  })
})
