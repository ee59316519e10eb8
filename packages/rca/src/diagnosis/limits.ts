import type { Hypothesis } from '@connrca/contracts'
import { type Diagnose, hypothesis, isAzure, listOf } from './hypothesis.js'

/** Sessions an application must gain to be called a growing pool. */
const GROWTH = 10
/** Refused attempts per minute that make a storm. */
const STORM_RATE = 10
/** Fewer open sessions than this at the limit means the log does not show who holds the slots. */
const FEW_SESSIONS = 10

/**
 * limit_reached: concurrent sessions estimated from connection / disconnection pairs (as
 * pgBadger's session peak); the application whose sessions grew most since the hour before is
 * the growing pool, otherwise the sessions were already held and a burst of new clients hit the
 * limit.
 */
export const diagnoseLimits: Diagnose = ({ ev, flavour }) => {
  const f = ev.failures
  const during = ev.peakDuring
  if (f.n === 0 || !during) return []
  const before = ev.peakBefore
  const beforeApps = new Map(before?.apps ?? [])
  let best: { app: string; from: number; to: number } | undefined
  for (const [app, to] of during.apps) {
    const from = beforeApps.get(app) ?? 0
    if (!best || to - from > best.to - best.from) best = { app, from, to }
  }
  const growth = before ? during.peak - before.peak : 0
  const out: Hypothesis[] = []
  const name = (app: string) => app || '(no application_name)'
  const poolStep = isAzure(flavour)
    ? 'Put PgBouncer (built into Flexible Server) or an application-side pool in front, or move to a tier with more connections.'
    : 'Put PgBouncer in front, or raise max_connections only with the memory to back it.'
  if (best && before && best.to - best.from >= GROWTH && growth > 0 && best.to - best.from >= 0.5 * growth) {
    out.push(
      hypothesis({
        id: 'pool_growth',
        title: `pool of app ${name(best.app)} grew from ${best.from} to ${best.to} sessions`,
        text: `Open sessions peaked at ${during.peak} (${before.peak} in the hour before); ${name(best.app)} holds ${best.to} of them, ${best.to - best.from} more than before: its connection pool grew until the server had no slots left.`,
        score: 0.55 + 0.4 * Math.min(1, (best.to - best.from) / Math.max(1, growth)),
        evidence: {
          peakSessions: during.peak,
          peakBefore: before.peak,
          appSessions: best.to,
          appSessionsBefore: best.from,
          refused: f.n,
        },
        ...(best.app ? { fleetKey: `app:${best.app}` } : {}),
        steps: [
          `Cap the pool of ${name(best.app)} (maximum pool size × instances) below the server's limit, and look for connections it leaks or keeps idle.`,
          poolStep,
          `Limit the role with ALTER ROLE … CONNECTION LIMIT so one application cannot take every slot.`,
        ],
      }),
    )
  }
  const minutes = Math.max(1, (f.last - f.first) / 60_000)
  const rate = f.n / minutes
  const grew = out.length > 0
  if (!grew && rate >= STORM_RATE) {
    const seen =
      during.peak < FEW_SESSIONS
        ? ` Only ${during.peak} sessions were seen open: the ones holding the slots were opened before the log starts or without log_connections.`
        : ''
    out.push(
      hypothesis({
        id: 'connection_storm',
        title: `connection storm: ${f.n} attempts refused at ${rate.toFixed(0)} per minute from ${f.clients.size} clients`,
        text: `${f.n} connections were refused at ${rate.toFixed(1)} per minute while the open sessions did not grow (peak ${during.peak}${before ? `, ${before.peak} in the hour before` : ''}): clients reconnecting in a tight loop, or a burst of new workers, against a full server.${seen}`,
        score: 0.6,
        evidence: {
          refused: f.n,
          perMinute: Math.round(rate * 10) / 10,
          clients: f.clients.size,
          peakSessions: during.peak,
        },
        clients: [...f.clients.keys()].slice(0, 10),
        steps: [
          'Make the clients retry with exponential backoff and jitter instead of reconnecting at once, and cap their pools.',
          poolStep,
        ],
      }),
    )
  }
  out.push(
    hypothesis({
      id: 'sessions_at_limit',
      title: `sessions at the limit: ${during.peak} open, most held by ${name(during.apps[0]?.[0] ?? '')}`,
      text: `Open sessions peaked at ${during.peak}${before ? ` (${before.peak} in the hour before)` : ''}, held by ${listOf(during.apps.map(([a, n]) => [name(a), n]))}; ${f.n} new connections were refused meanwhile.`,
      score: 0.5,
      evidence: { peakSessions: during.peak, ...(before ? { peakBefore: before.peak } : {}), refused: f.n },
      steps: [
        `Find who holds the sessions: SELECT application_name, usename, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC.`,
        poolStep,
      ],
    }),
  )
  return out
}
