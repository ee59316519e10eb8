const pad = (n: number) => (n < 10 ? `0${n}` : String(n))

export function utcDay(ms: number): string {
  const d = new Date(ms)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

export function utcMinute(ms: number): string {
  const d = new Date(ms)
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** `between 2026-03-02 10:02 and 10:47 UTC`; the date repeats only when the day changes; `at …` within one minute. */
export function utcSpan(first: number, last: number): string {
  const a = `${utcDay(first)} ${utcMinute(first)}`
  const sameDay = utcDay(first) === utcDay(last)
  const b = sameDay ? utcMinute(last) : `${utcDay(last)} ${utcMinute(last)}`
  if (sameDay && utcMinute(first) === utcMinute(last)) return `at ${a} UTC`
  return `between ${a} and ${b} UTC`
}

/** `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.round(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`
}
