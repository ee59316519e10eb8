import { z } from 'zod'

/** Filled in by the notifier issue. */
export const NotifyConfig = z.object({}).passthrough()
export type NotifyConfig = z.infer<typeof NotifyConfig>
