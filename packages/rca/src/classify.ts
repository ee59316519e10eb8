import type { Category, Persistence, RcaSeverity } from '@connrca/contracts'

export const TRANSIENT_LIMIT_MS = 60_000
export const RECURRENCE_WINDOW_MS = 24 * 3_600_000

/**
 * recurring: another incident for the same server and category started within the previous 24 h
 * of event time; otherwise transient when the failures span less than 60 s, persistent beyond.
 * Re-evaluated at every revision, so an open incident can move from transient to persistent.
 */
export function persistenceOf(spanMs: number, earlierIncidentsIn24h: number): Persistence {
  if (earlierIncidentsIn24h > 0) return 'recurring'
  return spanMs < TRANSIENT_LIMIT_MS ? 'transient' : 'persistent'
}

/** Causes that keep every affected client out until someone changes a setting. */
const BLOCKING: ReadonlySet<Category> = new Set(['firewall_deny', 'auth_fail', 'tls_reject', 'limit_reached'])

/**
 * info: transient (over within a minute; retries absorb it).
 * critical: a blocking cause that lasted or recurs, with many failures (>= criticalCount) or
 * failing at least half of the connections the server received.
 * warning: everything else.
 */
export function severityOf(
  category: Category,
  persistence: Persistence,
  count: number,
  attempts: number,
  criticalCount: number,
): RcaSeverity {
  if (persistence === 'transient') return 'info'
  const heavy = count >= criticalCount || (attempts > 0 && count / attempts >= 0.5)
  return BLOCKING.has(category) && heavy ? 'critical' : 'warning'
}
