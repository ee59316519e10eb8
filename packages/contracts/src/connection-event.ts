import { z } from 'zod'
import { SourceRef } from './log-record.js'

export const Outcome = z.enum(['received', 'authorized', 'failed', 'closed'])
export type Outcome = z.infer<typeof Outcome>

export const Category = z.enum([
  'firewall_deny',
  'auth_fail',
  'tls_reject',
  'limit_reached',
  'transient',
  'user_error',
  'network',
])
export type Category = z.infer<typeof Category>
export const CATEGORIES = Category.options

/** A LogRecord that concerns a connection. `id` is the LogRecord's id. */
export const ConnectionEvent = z.object({
  id: z.string(),
  server: z.string(),
  time: z.number(),
  outcome: Outcome,
  /** Set when outcome is `failed`. */
  category: Category.optional(),
  /** Fine-grained, snake_case, e.g. `password_auth_failed`, `no_hba_entry_ssl_off`. */
  reason: z.string().optional(),
  sqlstate: z.string().optional(),
  user: z.string().optional(),
  database: z.string().optional(),
  clientIp: z.string().optional(),
  clientPort: z.number().optional(),
  application: z.string().optional(),
  tlsProtocol: z.string().optional(),
  pid: z.number().optional(),
  message: z.string(),
  source: SourceRef.optional(),
})
export type ConnectionEvent = z.infer<typeof ConnectionEvent>
