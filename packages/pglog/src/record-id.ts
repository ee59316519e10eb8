// FNV-1a 64 over the UTF-8 bytes of `${sourceName}\n${position}`, as 16 hex chars.
// Computed on two 32-bit halves so it stays in exact double and int32 arithmetic (no BigInt on
// the hot path): FNV's prime is 2^40 + 0x1b3, so a step is a multiply by 0x1b3 plus a shift.

/**
 * FNV state after hashing a source name and the separator; reused for every position of that
 * source. It also keeps the state after the leading digits of the last position hashed:
 * positions of one file grow, and most share all but their last three digits with the one before.
 */
export interface IdSeed {
  lo: number
  hi: number
  /** floor(position / 1000) of the last number position with one, and the state after its digits */
  head: number
  headLo: number
  headHi: number
}

/** FNV-1a 64's offset basis. */
const OFFSET_LO = 0x84222325
const OFFSET_HI = 0xcbf29ce4
const TWO_32 = 4294967296

/** The state after `fnv`: two numbers, without an object per call. */
const out = { lo: 0, hi: 0 }

/** FNV-1a 64 steps over bytes[0, n) from the state (lo, hi); the state after them is left in `out`. */
function fnv(lo: number, hi: number, bytes: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = (lo ^ bytes[i]) >>> 0
    const p = x * 0x1b3
    lo = p >>> 0
    hi = (Math.imul(hi, 0x1b3) + (p - lo) / TWO_32 + (x << 8)) >>> 0
  }
  out.lo = lo
  out.hi = hi
}

export function seedFor(sourceName: string): IdSeed {
  const bytes = Buffer.from(`${sourceName}\n`, 'utf8')
  fnv(OFFSET_LO, OFFSET_HI, bytes, bytes.length)
  return { lo: out.lo, hi: out.hi, head: -1, headLo: 0, headHi: 0 }
}

/** Id for a position of the source whose seed is given. Positions are ASCII (digits or row keys). */
export function idFromSeed(seed: IdSeed, position: number | string): string {
  let lo = seed.lo
  let hi = seed.hi
  let d: Uint8Array = DIGITS
  let n: number
  if (typeof position === 'number' && Number.isSafeInteger(position) && position >= 0) {
    const head = Math.floor(position / 1000)
    const tail = position - head * 1000
    if (head > 0) {
      if (head !== seed.head) {
        fnv(lo, hi, DIGITS, digitsOf(head))
        seed.head = head
        seed.headLo = out.lo
        seed.headHi = out.hi
      }
      lo = seed.headLo
      hi = seed.headHi
      // the last three digits, zeros included
      DIGITS[0] = 48 + Math.floor(tail / 100)
      DIGITS[1] = 48 + (Math.floor(tail / 10) % 10)
      DIGITS[2] = 48 + (tail % 10)
      n = 3
    } else n = digitsOf(tail)
  } else {
    d = Buffer.from(String(position), 'utf8')
    n = d.length
  }
  fnv(lo, hi, d, n)
  return hex16(out.hi >>> 16, out.hi & 0xffff, out.lo >>> 16, out.lo & 0xffff)
}

const DIGITS = new Uint8Array(24)

/** Writes the decimal digits of v (a safe integer ≥ 0) to DIGITS, most significant first; returns their count. */
function digitsOf(v: number): number {
  let n = 0
  do {
    DIGITS[n++] = 48 + (v % 10)
    v = Math.floor(v / 10)
  } while (v > 0)
  for (let i = 0, j = n - 1; i < j; i++, j--) {
    const t = DIGITS[i]
    DIGITS[i] = DIGITS[j]
    DIGITS[j] = t
  }
  return n
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

let lastName: string | undefined
let lastSeed: IdSeed | undefined

/** Stable id of the record at `position` of source `sourceName` (same inputs => same id, across runs). */
export function recordId(sourceName: string, position: number | string): string {
  if (sourceName !== lastName || lastSeed === undefined) {
    lastSeed = seedFor(sourceName)
    lastName = sourceName
  }
  return idFromSeed(lastSeed, position)
}
