import type { Category, Flavour, Hypothesis } from '@connrca/contracts'
import { diagnoseAuth } from './auth.js'
import type { IncidentEvidence } from './evidence.js'
import { diagnoseFirewall } from './firewall.js'
import type { Diagnose } from './hypothesis.js'
import { diagnoseLimits } from './limits.js'
import { diagnoseTls } from './tls.js'
import { diagnoseTransient } from './transient.js'

export { EvidenceCollector, type EvidenceOptions, type EvidenceSnapshot, type IncidentEvidence } from './evidence.js'

const BY_CAUSE: Partial<Record<Category, Diagnose>> = {
  auth_fail: diagnoseAuth,
  firewall_deny: diagnoseFirewall,
  limit_reached: diagnoseLimits,
  tls_reject: diagnoseTls,
  transient: diagnoseTransient,
}

/** At most this many hypotheses per incident. */
const MAX = 3

/** Ranked hypotheses for one incident: highest score first, ties by id. */
export function diagnose(ev: IncidentEvidence, flavour: Flavour = 'self-hosted'): Hypothesis[] {
  const fn = BY_CAUSE[ev.category]
  if (!fn) return []
  return fn({ ev, flavour })
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, MAX)
}
