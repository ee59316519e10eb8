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
})
export type PipelineConfig = z.infer<typeof PipelineConfig>
