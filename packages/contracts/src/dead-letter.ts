import { z } from 'zod'
import { SourceRef } from './log-record.js'

/** Input a stage could not use, kept with the reason so nothing is lost silently. */
export const DeadLetter = z.object({
  id: z.string(),
  stage: z.enum(['parse', 'classify', 'validate', 'window', 'store', 'notify']),
  reason: z.string(),
  /** The offending input, truncated to 64 KiB. */
  raw: z.string(),
  server: z.string().optional(),
  source: SourceRef.optional(),
  /** Processing time, epoch ms. */
  time: z.number(),
})
export type DeadLetter = z.infer<typeof DeadLetter>

export const DEAD_LETTER_RAW_LIMIT = 64 * 1024
