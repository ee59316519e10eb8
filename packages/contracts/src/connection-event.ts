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
  /**
   * The pg_hba.conf line a failed authentication matched, from its DETAIL (`Connection matched
   * pg_hba.conf line 95: "host all all 0.0.0.0/0 scram-sha-256"`): `line 95: host all …`, with the
   * file first when PostgreSQL 16+ names it. Denies by pg_hba.conf carry none: PostgreSQL logs no
   * DETAIL for them.
   */
  hbaLine: z.string().optional(),
  /** TLS versions the server accepts, from a refused handshake's HINT (PG 14+): `TLSv1.2 to TLSv1.3`. */
  serverTls: z.string().optional(),
  pid: z.number().optional(),
  message: z.string(),
  source: SourceRef.optional(),
})
export type ConnectionEvent = z.infer<typeof ConnectionEvent>
