import { API_DEFAULT_RANGE_MS, API_MAX_POINTS, parseDurationMs, parseTimePoint } from '@connrca/contracts'
import { HttpError } from './http.js'

const MIN = 60_000
/** Bucket widths the automatic step picks from: they line up with clock boundaries. */
const NICE_STEPS = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 10080].map((m) => m * MIN)
/** Aim for about this many buckets when the caller does not choose a step. */
const TARGET_POINTS = 300

export interface Range {
  from: number
  to: number
}

/** Resolves `from`/`to` against `now`, refusing inverted or over-long ranges with a clear message. */
export function resolveRange(q: { from?: string; to?: string }, now: number, maxRangeMs: number): Range {
  const to = q.to === undefined ? now : parseTimePoint(q.to, now)
  if (to === undefined) throw new HttpError(400, 'bad_request', `query.to: cannot read "${q.to}" as a time`)
  const from = q.from === undefined ? to - API_DEFAULT_RANGE_MS : parseTimePoint(q.from, now)
  if (from === undefined) throw new HttpError(400, 'bad_request', `query.from: cannot read "${q.from}" as a time`)
  if (from >= to) throw new HttpError(400, 'bad_request', 'query.from: must be before query.to')
  if (to - from > maxRangeMs) {
    throw new HttpError(
      400,
      'range_too_long',
      `query: the time range spans ${fmtDays(to - from)}; the limit is ${fmtDays(maxRangeMs)} (api.maxRangeDays)`,
    )
  }
  return { from, to }
}

/**
 * The bucket width: the caller's, or the smallest clock-aligned width that keeps the series
 * under ~300 points and is no finer than the pipeline's window (finer buckets would show
 * every window's count in one bucket and zeros in the others).
 */
export function resolveStep(range: Range, step: string | undefined, windowMs: number): number {
  const span = range.to - range.from
  let ms: number
  if (step !== undefined) {
    const parsed = parseDurationMs(step)
    if (parsed === undefined || parsed < 1000) {
      throw new HttpError(400, 'bad_request', `query.step: "${step}" is not a duration of at least 1s`)
    }
    ms = parsed
  } else {
    const wanted = Math.max(span / TARGET_POINTS, windowMs)
    ms = NICE_STEPS.find((s) => s >= wanted) ?? NICE_STEPS[NICE_STEPS.length - 1]
  }
  const points = Math.ceil((range.to - alignDown(range.from, ms)) / ms)
  if (points > API_MAX_POINTS) {
    throw new HttpError(
      400,
      'too_many_points',
      `query.step: ${step} over this range gives ${points} buckets; the limit is ${API_MAX_POINTS}, use a wider step`,
    )
  }
  return ms
}

export function alignDown(t: number, step: number): number {
  return Math.floor(t / step) * step
}

/** Bucket starts covering [from, to). */
export function bucketTimes(range: Range, step: number): number[] {
  const out: number[] = []
  for (let t = alignDown(range.from, step); t < range.to; t += step) out.push(t)
  return out
}

function fmtDays(ms: number): string {
  const d = ms / 86_400_000
  return d >= 1 ? `${Math.round(d * 10) / 10} days` : `${Math.round(ms / 3_600_000)} hours`
}
