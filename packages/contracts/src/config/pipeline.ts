import { z } from 'zod'
import { Category } from '../connection-event.js'
import { Duration } from './duration.js'
import { DURATION_SCHEMAS } from './strict.js'

const span = Duration.refine((d) => (typeof d === 'number' ? d > 0 : !/^0+\D/.test(d)), 'must be longer than 0')
DURATION_SCHEMAS.add(span)

/** Windowing and incident settings. Durations: milliseconds or `30s`, `5m`, `2h`. */
export const PipelineConfig = z.object({
  window: span.default('5m'),
  /** Hop for hopping windows; equal to `window` (tumbling) when absent. */
  hop: span.optional(),
  allowedLateness: Duration.default('2m'),
  /** Processing-time silence after which the watermark advances so windows close. */
  idleTimeout: Duration.default('30s'),
  /** Failures per window at or above which a window belongs to an incident. */
  thresholds: z.partialRecord(Category, z.number().int().positive()).default({}),
  /**
   * Learned thresholds: each server × category's normal failures per hour of day (median of the
   * same hour over the `learnDays` days before) raise its threshold to what a normal window reaches
   * less than once in 1/p windows; `thresholds` stay the floor. Until a server has `minDays` days
   * of history only the fixed thresholds apply (so a one-day log behaves as without baselines).
   */
  baselines: z
    .object({
      enabled: z.boolean().default(true),
      learnDays: z.number().int().min(1).max(60).default(7),
      minDays: z.number().int().min(1).default(3),
      p: z.number().gt(0).lt(0.5).default(0.0001),
    })
    .refine((b) => b.minDays <= b.learnDays, 'minDays must not exceed learnDays')
    .default({ enabled: true, learnDays: 7, minDays: 3, p: 0.0001 }),
})
export type PipelineConfig = z.infer<typeof PipelineConfig>
