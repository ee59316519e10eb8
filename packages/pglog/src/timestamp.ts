// PostgreSQL log timestamps ("2026-03-02 10:02:03.123 CET") -> epoch ms UTC.
// Logs carry many lines per second and nearly always one zone, so the date part is cached per day and the
// zone per abbreviation; a hit costs only digit arithmetic and one startsWith.

/** Offsets in minutes east of UTC. Ambiguous abbreviations take their most common meaning in PG logs. */
const ZONES: Record<string, number> = {
  UTC: 0,
  GMT: 0,
  UT: 0,
  Z: 0,
  Zulu: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  IST: 330,
  CET: 60,
  CEST: 120,
  MET: 60,
  MEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  MSD: 240,
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
  AKST: -540,
  AKDT: -480,
  HST: -600,
  AST: -240,
  ADT: -180,
  NST: -210,
  NDT: -150,
  JST: 540,
  KST: 540,
  HKT: 480,
  SGT: 480,
  AWST: 480,
  ACST: 570,
  ACDT: 630,
  AEST: 600,
  AEDT: 660,
  NZST: 720,
  NZDT: 780,
  WIB: 420,
  PKT: 300,
  SAST: 120,
  CAT: 120,
  EAT: 180,
  WAT: 60,
  BRT: -180,
  ART: -180,
  CLT: -240,
  CLST: -180,
  PET: -300,
  COT: -300,
}

/** Offset in minutes for a zone token ("CET", "+01", "-0330", "+05:30"); unknown names count as UTC. */
export function zoneOffsetMinutes(zone: string): number {
  const c = zone.charCodeAt(0)
  if (c === 43 || c === 45) {
    const digits = zone.slice(1).replace(':', '')
    if (!/^\d{1,4}$/.test(digits)) return 0
    const h = digits.length <= 2 ? Number(digits) : Number(digits.slice(0, digits.length - 2))
    const m = digits.length <= 2 ? 0 : Number(digits.slice(-2))
    return (c === 45 ? -1 : 1) * (h * 60 + m)
  }
  // own keys only: a zone token "constructor" or "valueOf" is unknown, not Object.prototype's
  const upper = zone.toUpperCase()
  return Object.hasOwn(ZONES, zone) ? ZONES[zone] : Object.hasOwn(ZONES, upper) ? ZONES[upper] : 0
}

function isZoneChar(c: number): boolean {
  // letters, digits, + - : (for "+05:30" only after a sign; handled by the caller)
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57)
}

/**
 * Parses "YYYY-MM-DD HH:MM:SS[.fff] ZONE" at `pos`. Keeps the end index in `end`.
 * One instance per parser: the caches are per input, which is what makes them hit.
 */
export class TimestampParser {
  end = 0
  private dayKey = -1
  private dayMs = 0
  private zone = ''
  private zoneMs = 0

  /** Returns epoch ms, or NaN when the text at pos is not a timestamp (end is then meaningless). */
  parse(s: string, pos: number, zoneStop = -1): number {
    const y = d4(s, pos)
    if (y < 0 || s.charCodeAt(pos + 4) !== 45 || s.charCodeAt(pos + 7) !== 45) return Number.NaN
    const mo = d2(s, pos + 5)
    const d = d2(s, pos + 8)
    const sep = s.charCodeAt(pos + 10)
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || (sep !== 32 && sep !== 84)) return Number.NaN
    const h = d2(s, pos + 11)
    const mi = d2(s, pos + 14)
    const se = d2(s, pos + 17)
    if (h < 0 || mi < 0 || se < 0 || s.charCodeAt(pos + 13) !== 58 || s.charCodeAt(pos + 16) !== 58) return Number.NaN
    let i = pos + 19
    let ms = 0
    if (s.charCodeAt(i) === 46) {
      // fraction: keep milliseconds, skip finer digits
      i++
      let scale = 100
      for (let c = s.charCodeAt(i) - 48; c >= 0 && c <= 9; c = s.charCodeAt(++i) - 48) {
        ms += c * scale
        scale /= 10
      }
      ms = Math.floor(ms)
    }
    const key = y * 10000 + mo * 100 + d
    if (key !== this.dayKey) {
      this.dayKey = key
      this.dayMs = Date.UTC(y, mo - 1, d)
    }
    let t = this.dayMs + h * 3_600_000 + mi * 60_000 + se * 1000 + ms
    // zone: " CET", " +01", "+00" glued (ISO) or none
    let z = i
    if (s.charCodeAt(z) === 32) z++
    const zc = s.charCodeAt(z)
    const zl = this.zone.length
    const ze = z + zl
    if (
      zl > 0 &&
      s.startsWith(this.zone, z) &&
      (zoneStop < 0 ? !zoneGoesOn(s, ze, zc) : ze === zoneStop || (ze < zoneStop && !zoneGoesOn(s, ze, zc)))
    ) {
      // the zone of the line before, which nearly every line repeats
      t -= this.zoneMs
      i = ze
    } else if ((zc >= 65 && zc <= 90) || (zc >= 97 && zc <= 122) || zc === 43 || zc === 45) {
      let e = z + 1
      const numeric = zc === 43 || zc === 45
      while (e < s.length && e !== zoneStop) {
        const c = s.charCodeAt(e)
        if (numeric ? (c >= 48 && c <= 57) || (c === 58 && e === z + 3 && isDigit(s.charCodeAt(e + 1))) : isZoneChar(c))
          e++
        else break
      }
      if (e - z === this.zone.length && s.startsWith(this.zone, z)) t -= this.zoneMs
      else {
        this.zone = s.slice(z, e)
        this.zoneMs = zoneOffsetMinutes(this.zone) * 60_000
        t -= this.zoneMs
      }
      i = e
    }
    this.end = i
    return t
  }
}

/**
 * Where the timestamp that TimestampParser.parse would read at `pos` ends, read from an ASCII
 * line's bytes b[pos, end); -1 where parse would give NaN. The same checks in the same order as
 * parse (without its value: a line let go needs only where its prefix goes on); a byte past the
 * line's end counts as what charCodeAt gives there, no character.
 */
export function timestampEndAscii(b: Uint8Array, pos: number, end: number): number {
  if (pos + 19 > end) return -1
  const mo = b2(b, pos + 5)
  const d = b2(b, pos + 8)
  const sep = b[pos + 10]
  if (b2(b, pos) < 0 || b2(b, pos + 2) < 0 || b[pos + 4] !== 45 || b[pos + 7] !== 45) return -1
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || (sep !== 32 && sep !== 84)) return -1
  if (b2(b, pos + 11) < 0 || b2(b, pos + 14) < 0 || b2(b, pos + 17) < 0 || b[pos + 13] !== 58 || b[pos + 16] !== 58)
    return -1
  let i = pos + 19
  if (i < end && b[i] === 46) {
    i++
    while (i < end && isDigit(b[i])) i++
  }
  let z = i
  if (z < end && b[z] === 32) z++
  const zc = z < end ? b[z] : -1
  const numeric = zc === 43 || zc === 45
  if (!numeric && !((zc >= 65 && zc <= 90) || (zc >= 97 && zc <= 122))) return i
  let e = z + 1
  while (e < end) {
    const c = b[e]
    if (numeric ? isDigit(c) || (c === 58 && e === z + 3 && e + 1 < end && isDigit(b[e + 1])) : isZoneChar(c)) e++
    else break
  }
  return e
}

function b2(b: Uint8Array, i: number): number {
  const x = b[i] - 48
  const y = b[i + 1] - 48
  return x < 0 || x > 9 || y < 0 || y > 9 ? -1 : x * 10 + y
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

/** Does the zone token that starts with `zc` continue at `e` (a longer name, more offset digits)? */
function zoneGoesOn(s: string, e: number, zc: number): boolean {
  const c = s.charCodeAt(e)
  if (zc === 43 || zc === 45) return (c >= 48 && c <= 57) || c === 58
  return isZoneChar(c)
}

function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48
  const b = s.charCodeAt(i + 1) - 48
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1
  return a * 10 + b
}

function d4(s: string, i: number): number {
  const a = d2(s, i)
  const b = d2(s, i + 2)
  return a < 0 || b < 0 ? -1 : a * 100 + b
}

/** Convenience for cold paths (csv/json/azure fields): parses a whole timestamp string. */
const shared = new TimestampParser()
export function parseTimestamp(text: string): number {
  const t = shared.parse(text, 0)
  if (!Number.isNaN(t)) return t
  const iso = Date.parse(text)
  return Number.isNaN(iso) ? Number.NaN : iso
}
