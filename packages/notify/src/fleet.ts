import type { RcaEvent } from '@connrca/contracts'

/**
 * Fleet incidents: incidents on several servers with the same cause and the same shared thing
 * behind it (the /24 their denied clients come from, the guessing client, the user whose password
 * changed, the application whose pool grew), as named by the top hypothesis's `fleetKey`. They meet
 * here, in the notifier, because only here do the RCA events of every server (every Kafka
 * partition) arrive together.
 */
export function fleetOf(e: RcaEvent): string | undefined {
  const key = e.hypotheses?.[0]?.fleetKey
  return key ? `${e.category} ${key}` : undefined
}

const VERB: Record<string, (value: string, servers: string) => string> = {
  firewall_deny: (v, s) => `${v} denied by ${s}`,
  auth_fail: (v, s) => `logins failing for ${v} on ${s}`,
  tls_reject: (v, s) => `TLS refused for ${v} by ${s}`,
  limit_reached: (v, s) => `${v} out of connection slots on ${s}`,
}

/** `81.2.69.0/24 denied by 12 servers since 2026-03-02 10:02 UTC`; undefined for a single server. */
export function fleetHeadline(fleet: string, events: RcaEvent[], since: (ms: number) => string): string | undefined {
  const servers = new Set(events.map((e) => e.server))
  if (servers.size < 2) return undefined
  const [category, key = ''] = fleet.split(' ')
  const value = key.slice(key.indexOf(':') + 1)
  const first = Math.min(...events.map((e) => e.firstFailure))
  const verb = VERB[category] ?? ((v: string, s: string) => `${category} for ${v} on ${s}`)
  return `${verb(value, `${servers.size} servers`)} since ${since(first)}`
}
