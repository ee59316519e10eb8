import { z } from 'zod'
import { DURATION_SCHEMAS } from './strict.js'

/** Milliseconds, or `500ms`, `30s`, `5m`, `4h`, `1d`: every duration in connrca.yaml. */
export const Duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as 500ms, 30s, 5m, 4h or 1d'),
])
DURATION_SCHEMAS.add(Duration)
export type Duration = z.infer<typeof Duration>

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

export function toMs(d: number | string): number {
  if (typeof d === 'number') return d
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d)
  if (!m) throw new Error(`bad duration "${d}" (use e.g. 500ms, 30s, 5m, 2h, 1d)`)
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
}
