import type { Hypothesis } from '@connrca/contracts'
import { suggestFirewallRule } from '../ipv4.js'
import { type Diagnose, hypothesis, isAzure, netKey, pct, ranked } from './hypothesis.js'

/**
 * firewall_deny: denied addresses never admitted before (new clients or a moved egress address)
 * versus addresses that logged in before the incident started (a rule that admitted them was
 * removed). Both are scored by their share of the denied attempts.
 */
export const diagnoseFirewall: Diagnose = ({ ev, flavour }) => {
  const f = ev.failures
  if (f.n === 0) return []
  const clients = ranked(f.clients, (c) => c.n).filter(([ip]) => ip !== '')
  const known = clients.filter(([ip]) => ev.admittedBefore(ip, ev.start))
  const fresh = clients.filter(([ip]) => !ev.admittedBefore(ip, ev.start))
  const sum = (xs: [string, number][]) => xs.reduce((a, [, n]) => a + n, 0)
  const knownN = sum(known)
  const freshN = sum(fresh)
  const counted = knownN + freshN
  const out: Hypothesis[] = []
  if (freshN > 0) {
    const rule = suggestFirewallRule(fresh.map(([ip]) => ip))
    const range = rule
      ? (rule.cidr ?? (rule.startIp === rule.endIp ? rule.startIp : `${rule.startIp}–${rule.endIp}`))
      : undefined
    out.push(
      hypothesis({
        id: 'new_clients',
        title: 'new clients or a moved egress address',
        text: `${fresh.length} of the ${clients.length} denied addresses (${pct(freshN, counted)}% of the attempts) never logged in before${range ? `; they lie in ${range}` : ''}: new clients, or clients whose outbound address moved (NAT, proxy, ISP pool).`,
        score: 0.3 + 0.65 * (freshN / counted),
        evidence: {
          addresses: fresh.length,
          attempts: freshN,
          deniedAddresses: clients.length,
          shareOfAttempts: pct(freshN, counted),
        },
        clients: fresh.slice(0, 10).map(([ip]) => ip),
        fleetKey: netKey(fresh),
        steps: [
          `Confirm with the owners of ${fresh
            .slice(0, 3)
            .map(([ip]) => ip)
            .join(', ')} that these are expected clients (a new deployment, a changed NAT gateway or proxy).`,
          range
            ? `If they are, admit ${range} (not 0.0.0.0/0) and remove the rule for the old address once nothing uses it.`
            : 'If they are, admit their new address and remove the rule for the old one once nothing uses it.',
        ],
      }),
    )
  }
  if (knownN > 0) {
    const where = isAzure(flavour)
      ? 'the server firewall rules (portal or az … firewall-rule list) and the activity log for a deleted or edited rule'
      : 'pg_hba.conf (and host firewalls / security groups) for a line that was removed, reordered or narrowed; `SELECT * FROM pg_hba_file_rules` shows what is loaded'
    out.push(
      hypothesis({
        id: 'rule_removed',
        title: 'a rule that admitted them was removed',
        text: `${known.length} of the ${clients.length} denied addresses (${pct(knownN, counted)}% of the attempts) logged in before the incident started: something that admitted them was removed or changed.`,
        score: 0.3 + 0.65 * (knownN / counted),
        evidence: {
          addresses: known.length,
          attempts: knownN,
          deniedAddresses: clients.length,
          shareOfAttempts: pct(knownN, counted),
        },
        clients: known.slice(0, 10).map(([ip]) => ip),
        fleetKey: netKey(known),
        steps: [
          `Check ${where}.`,
          `Restore the rule for ${known
            .slice(0, 3)
            .map(([ip]) => ip)
            .join(', ')}${known.length > 3 ? ' and the others' : ''}, then find out who changed it.`,
        ],
      }),
    )
  }
  return out
}
