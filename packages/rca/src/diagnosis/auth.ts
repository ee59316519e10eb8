import type { Hypothesis } from '@connrca/contracts'
import { type Diagnose, hypothesis, isAzure, pct, plural, ranked } from './hypothesis.js'

/** Distinct user names from one client from which its attempts look like guessing. */
const GUESS_USERS = 5
/** Or this many failures at this rate (per minute) from one client without any earlier login. */
const GUESS_ATTEMPTS = 100
const GUESS_RATE = 10

/**
 * auth_fail: password guessing (one client, many user names or a high rate), credentials changed
 * (one user failing from clients where it logged in before), one client's configuration (one
 * client and one user while the others succeed).
 */
export const diagnoseAuth: Diagnose = ({ ev, flavour }) => {
  const f = ev.failures
  if (f.n === 0) return []
  const out: Hypothesis[] = []
  const clients = ranked(f.clients, (c) => c.n)
  const users = ranked(f.users, (n) => n)
  const minutes = Math.max(1, (f.last - f.first) / 60_000)

  // password guessing: the client with the most failures
  const [gIp, gN] = clients[0] ?? ['', 0]
  const gUsers = f.clients.get(gIp)?.users.size ?? 0
  const gKnown = gIp !== '' && ev.admittedBefore(gIp, ev.start)
  const rate = gN / minutes
  const manyUsers = gUsers >= GUESS_USERS
  const fast = gN >= GUESS_ATTEMPTS && rate >= GUESS_RATE && !gKnown
  // the pg_hba.conf line the failures matched, when the DETAIL says (self-hosted PostgreSQL does)
  const [hba] = ranked(f.hba, (n) => n)[0] ?? []
  const hbaLine = hba === undefined ? undefined : hba.startsWith('line ') ? `pg_hba.conf ${hba}` : hba
  const hbaNote = hbaLine ? ` The attempts matched ${hbaLine}.` : ''
  if (gIp !== '' && (manyUsers || fast)) {
    const above = hba?.startsWith('line ') ? `above ${hba.slice(0, hba.indexOf(':'))}` : 'above the others'
    const block = isAzure(flavour)
      ? `Remove or narrow the firewall rule that admits ${gIp}: only known client addresses should reach the server.`
      : `Block ${gIp} in front of the server (host firewall, security group) or with a pg_hba.conf "host all all ${gIp}/32 reject" line ${above}, then reload.`
    out.push(
      hypothesis({
        id: 'password_guessing',
        title: `password guessing from ${gIp}: ${gN} attempts on ${plural(gUsers, 'user name')}`,
        text: `${gIp} made ${gN} of the ${f.n} failed logins (${pct(gN, f.n)}%, ${rate.toFixed(1)} per minute) with ${plural(gUsers, 'different user name')}${gKnown ? '' : ' and never logged in before the incident'}: this looks like password guessing, a security finding.`,
        score: (manyUsers ? 0.8 : 0.65) + 0.15 * (gN / f.n),
        severity: 'critical',
        security: true,
        evidence: {
          attempts: gN,
          userNames: gUsers,
          perMinute: Math.round(rate * 10) / 10,
          failures: f.n,
          loggedInBefore: gKnown ? 1 : 0,
        },
        clients: [gIp],
        fleetKey: `client:${gIp}`,
        steps: [
          block,
          `Check whether any login from ${gIp} succeeded (connection authorized lines for that host) and, if one did, change that role's password and review its activity.`,
          'Keep log_connections on and use scram-sha-256; never leave roles with weak or default passwords reachable from the internet.',
        ],
      }),
    )
  }

  // credentials changed: one user failing from clients where it logged in before
  const [user, uN] = users[0] ?? ['', 0]
  if (user !== '') {
    const from = clients.filter(([ip]) => (f.clients.get(ip)?.users.get(user) ?? 0) > 0).map(([ip]) => ip)
    const before = from.filter((ip) => ev.loggedInBefore(user, ip, ev.start))
    const share = from.length ? before.length / from.length : 0
    if (before.length > 0 && (from.length >= 2 || share === 1)) {
      out.push(
        hypothesis({
          id: 'credentials_changed',
          title: 'credentials changed: the clients still use the old password',
          text: `${user} failed ${uN} times (${pct(uN, f.n)}% of the failures) from ${plural(from.length, 'client')}, ${before.length} of which had logged in as ${user} before the incident: its password (or authentication method) changed and these clients still send the old one.`,
          score: 0.45 + 0.4 * share * (uN / f.n) + (from.length >= 2 ? 0.1 : 0),
          evidence: {
            failures: uN,
            clients: from.length,
            clientsThatLoggedInBefore: before.length,
            shareOfFailures: pct(uN, f.n),
          },
          clients: from.slice(0, 10),
          fleetKey: `user:${user}`,
          steps: [
            `Update the password of ${user} wherever the failing clients (${from.slice(0, 3).join(', ')}) read it — application config, connection pool, secret store — and restart pools that keep connections.`,
            `If the change was not intended, set the previous password again for ${user} (ALTER ROLE … PASSWORD) until the clients are updated.`,
            'Rotate credentials by adding the new secret before removing the old one (two roles or a grace period), so clients can move over without an outage.',
          ],
        }),
      )
    }
  }

  // one client and one user while the others succeed: that client's configuration
  if (clients.length > 0 && user !== '') {
    const [ip, n] = clients[0]
    const pairN = f.clients.get(ip)?.users.get(user) ?? 0
    let othersOk = 0
    for (const [u, m] of ev.loginsDuring) for (const [c, k] of m) if (c !== ip || u !== user) othersOk += k
    const sameUserElsewhere = [...(ev.loginsDuring.get(user) ?? new Map<string, number>())].filter(
      ([c]) => c !== ip,
    ).length
    if (pairN >= 0.8 * f.n && othersOk > 0) {
      out.push(
        hypothesis({
          id: 'client_configuration',
          title: `that client's configuration: ${ip} as ${user}`,
          text: `${pct(pairN, f.n)}% of the failures (${pairN}) are ${user} from ${ip}, while ${othersOk} other logins succeeded meanwhile${sameUserElsewhere ? ` (${user} itself from ${plural(sameUserElsewhere, 'other client')})` : ''}: the password is right elsewhere, so the configuration of ${ip} is wrong.`,
          score: 0.5 + 0.3 * (pairN / f.n) + (sameUserElsewhere ? 0.1 : 0) - (n < 3 ? 0.2 : 0),
          evidence: { failures: pairN, otherLoginsSucceeded: othersOk, sameUserOtherClients: sameUserElsewhere },
          clients: [ip],
          steps: [
            `Fix the credentials configured on ${ip} for ${user} (connection string, .pgpass, environment, secret mount); other clients log in fine.`,
            `Look for a recent deployment or host change on ${ip}.`,
          ],
        }),
      )
    }
  }
  if (hbaNote) for (const h of out) h.text += hbaNote
  return out
}
