import type { Hypothesis } from '@connrca/contracts'
import { humanDuration } from '../time-format.js'
import { type Diagnose, hypothesis } from './hypothesis.js'

const pad = (n: number) => String(n).padStart(2, '0')
const hms = (ms: number) => {
  const d = new Date(ms)
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

/**
 * transient: the server's own refusal run (`shutting down`, `starting up`, recovery) and the first
 * login after it give the restart time and the downtime; terminations alone point at an
 * administrator or a failover.
 */
export const diagnoseTransient: Diagnose = ({ ev }) => {
  const f = ev.failures
  if (f.n === 0) return []
  const out: Hypothesis[] = []
  const r = ev.recoveries[ev.recoveries.length - 1]
  if (r) {
    const kind = r.reasons.recovery_mode || r.reasons.not_yet_accepting ? 'recovery' : 'restart'
    const up = r.resumed
    out.push(
      hypothesis({
        id: kind === 'recovery' ? 'crash_recovery' : 'restart',
        title:
          up !== undefined
            ? `${kind} at ${hms(r.down)}, accepting connections again after ${humanDuration(up - r.down)}`
            : `${kind} at ${hms(r.down)}, not accepting connections yet`,
        text: `The server refused ${r.refusals} connections as ${Object.keys(r.reasons)
          .sort()
          .map((k) => k.replace(/_/g, ' '))
          .join(
            ' / ',
          )} from ${hms(r.down)} to ${hms(r.lastRefusal)} UTC${up !== undefined ? `; the first login succeeded at ${hms(up)} (${humanDuration(up - r.down)} after the first refusal)` : ''}.`,
        score: up !== undefined ? 0.9 : 0.75,
        evidence: {
          refusals: r.refusals,
          refusingForS: Math.round((r.lastRefusal - r.down) / 1000),
          ...(up !== undefined ? { downtimeS: Math.round((up - r.down) / 1000) } : {}),
        },
        steps: [
          'Check whether the restart was planned (maintenance window, configuration change needing a restart, failover); the server log just before the first refusal says who asked for it.',
          'Clients should retry with backoff for at least 60 seconds: a restart like this one ends by itself.',
        ],
      }),
    )
  }
  const term = f.reasons.get('admin_termination') ?? 0
  if (term > 0) {
    out.push(
      hypothesis({
        id: 'sessions_terminated',
        title: `${term} sessions terminated by an administrator command, a fast shutdown or a failover`,
        text: `${term} of the ${f.n} failures ended running sessions (terminating connection due to administrator command).`,
        score: r ? 0.5 : 0.7,
        evidence: { terminated: term, failures: f.n },
        steps: ['Look for pg_terminate_backend calls, a fast shutdown or a failover at that time.'],
      }),
    )
  }
  return out
}
