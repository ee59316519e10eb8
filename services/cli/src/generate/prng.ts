/** Seeded PRNG (mulberry32): fast, 32-bit state, good enough for synthetic logs. */
export class Rng {
  private s: number

  constructor(seed: number) {
    this.s = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0
    let t = this.s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]
  }

  /** Pick by weights (same length as xs). */
  weighted<T>(xs: readonly T[], weights: readonly number[]): T {
    let total = 0
    for (const w of weights) total += w
    let x = this.next() * total
    for (let i = 0; i < xs.length; i++) {
      x -= weights[i]
      if (x < 0) return xs[i]
    }
    return xs[xs.length - 1]
  }

  /** Exponential with the given mean (inter-arrival time of a Poisson process). */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }

  chance(p: number): boolean {
    return this.next() < p
  }
}

/** Independent seeds per (seed, stream name): streams stay identical whatever else is generated. */
export function streamSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  return h >>> 0
}
