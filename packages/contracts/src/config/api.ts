import { z } from 'zod'

export const ApiConfig = z.object({
  enabled: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Bearer token; may be omitted only when bound to loopback. */
  token: z.string().optional(),
})
export type ApiConfig = z.infer<typeof ApiConfig>
