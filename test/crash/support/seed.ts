/** mulberry32: a tiny seeded PRNG, so a failing run's kill points and chunk cuts can be replayed. */
export function prng(seed: number): { next(): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) }
}

/** CRASH_SEED=<n> replays a run; otherwise a fresh seed each time (printed by the test). */
export function seedFromEnv(): number {
  const s = process.env.CRASH_SEED
  if (s !== undefined && /^\d+$/.test(s)) return Number(s)
  return (Date.now() ^ (process.pid << 8)) >>> 0
}
