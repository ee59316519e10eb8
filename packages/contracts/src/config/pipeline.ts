import { z } from 'zod'
import { Category } from '../connection-event.js'

const duration = z.union([z.number().int().positive(), z.string().regex(/^\d+(ms|s|m|h|d)$/)])

/** Windowing and incident settings. Durations: milliseconds or `30s`, `5m`, `2h`. */
export const PipelineConfig = z.object({
  window: duration.default('5m'),
  /** Hop for hopping windows; equal to `window` (tumbling) when absent. */
  hop: duration.optional(),
  allowedLateness: duration.default('2m'),
  /** Processing-time silence after which the watermark advances so windows close. */
  idleTimeout: duration.default('30s'),
  /** Failures per window at or above which a window belongs to an incident. */
  thresholds: z.partialRecord(Category, z.number().int().positive()).default({}),
})
export type PipelineConfig = z.infer<typeof PipelineConfig>

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

export function toMs(d: number | string): number {
  if (typeof d === 'number') return d
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d)
  if (!m) throw new Error(`bad duration "${d}" (use e.g. 500ms, 30s, 5m, 2h, 1d)`)
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
}
