// FNV-1a 64 over the UTF-8 bytes of `${sourceName}\n${position}`, as 16 hex chars.
// Computed with four 16-bit limbs so it stays in small-integer arithmetic (no BigInt on the hot path).

/** FNV state after hashing a source name and the separator; reused for every position of that source. */
export interface IdSeed {
  h0: number
  h1: number
  h2: number
  h3: number
}

const OFFSET: IdSeed = { h0: 0x2325, h1: 0x8422, h2: 0x9ce4, h3: 0xcbf2 }

function mix(s: IdSeed, byte: number): void {
  const x0 = s.h0 ^ byte
  const t0 = x0 * 0x1b3
  const t1 = s.h1 * 0x1b3 + (t0 >>> 16)
  const t2 = s.h2 * 0x1b3 + x0 * 0x100 + (t1 >>> 16)
  s.h3 = (s.h3 * 0x1b3 + s.h1 * 0x100 + (t2 >>> 16)) & 0xffff
  s.h0 = t0 & 0xffff
  s.h1 = t1 & 0xffff
  s.h2 = t2 & 0xffff
}

export function seedFor(sourceName: string): IdSeed {
  const s = { ...OFFSET }
  const bytes = Buffer.from(sourceName, 'utf8')
  for (let i = 0; i < bytes.length; i++) mix(s, bytes[i])
  mix(s, 10)
  return s
}

/** Id for a position of the source whose seed is given. Positions are ASCII (digits or row keys). */
export function idFromSeed(seed: IdSeed, position: number | string): string {
  let h0 = seed.h0
  let h1 = seed.h1
  let h2 = seed.h2
  let h3 = seed.h3
  let digits: Uint8Array | Buffer
  let n: number
  if (typeof position === 'number' && Number.isSafeInteger(position) && position >= 0) {
    // digits most-significant first, without building a string
    n = 0
    let v = position
    do {
      DIGITS[n++] = 48 + (v % 10)
      v = Math.floor(v / 10)
    } while (v > 0)
    for (let i = 0, j = n - 1; i < j; i++, j--) {
      const t = DIGITS[i]
      DIGITS[i] = DIGITS[j]
      DIGITS[j] = t
    }
    digits = DIGITS
  } else {
    digits = Buffer.from(String(position), 'utf8')
    n = digits.length
  }
  for (let i = 0; i < n; i++) {
    const x0 = h0 ^ digits[i]
    const t0 = x0 * 0x1b3
    const t1 = h1 * 0x1b3 + (t0 >>> 16)
    const t2 = h2 * 0x1b3 + x0 * 0x100 + (t1 >>> 16)
    h3 = (h3 * 0x1b3 + h1 * 0x100 + (t2 >>> 16)) & 0xffff
    h0 = t0 & 0xffff
    h1 = t1 & 0xffff
    h2 = t2 & 0xffff
  }
  return hex16(h3, h2, h1, h0)
}

/** Character codes of 0-9a-f. */
const HEX = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102])

/**
 * The four 16-bit limbs as 16 hex characters, in one flat string: eight two-character pieces
 * joined made a tree of cons strings that V8 flattens again when the id is hashed (35 ns more per id).
 */
function hex16(a: number, b: number, c: number, d: number): string {
  return String.fromCharCode(
    HEX[a >>> 12],
    HEX[(a >>> 8) & 15],
    HEX[(a >>> 4) & 15],
    HEX[a & 15],
    HEX[b >>> 12],
    HEX[(b >>> 8) & 15],
    HEX[(b >>> 4) & 15],
    HEX[b & 15],
    HEX[c >>> 12],
    HEX[(c >>> 8) & 15],
    HEX[(c >>> 4) & 15],
    HEX[c & 15],
    HEX[d >>> 12],
    HEX[(d >>> 8) & 15],
    HEX[(d >>> 4) & 15],
    HEX[d & 15],
  )
}

const DIGITS = new Uint8Array(24)

let lastName: string | undefined
let lastSeed: IdSeed = OFFSET

/** Stable id of the record at `position` of source `sourceName` (same inputs => same id, across runs). */
export function recordId(sourceName: string, position: number | string): string {
  if (sourceName !== lastName) {
    lastSeed = seedFor(sourceName)
    lastName = sourceName
  }
  return idFromSeed(lastSeed, position)
}
