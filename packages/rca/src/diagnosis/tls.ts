import type { Hypothesis } from '@connrca/contracts'
import { type Diagnose, hypothesis, listOf, pct, plural, ranked } from './hypothesis.js'

/**
 * tls_reject: a few clients (with the applications they used when they did log in) refused for an
 * old protocol or missing TLS, versus many clients at once (a change on the server side).
 */
export const diagnoseTls: Diagnose = ({ ev }) => {
  const f = ev.failures
  if (f.n === 0) return []
  const clients = ranked(f.clients, (c) => c.n)
  const apps = ranked(f.apps, (n) => n)
  const protos = ranked(f.tls, (n) => n)
  const top3 = clients.slice(0, 3).reduce((a, [, n]) => a + n, 0)
  const proto = protos[0]?.[0]
  // what the server asked for, when its HINT says (PG 14+): "between TLSv1.2 and TLSv1.3"
  const accepts = ranked(f.serverTls, (n) => n)[0]?.[0]
  const noTls = (f.reasons.get('ssl_required') ?? 0) > f.n / 2
  const appText = apps.length ? `; application ${listOf(apps, 2)}` : ''
  const out: Hypothesis[] = []
  if (clients.length > 0 && top3 >= 0.9 * f.n) {
    out.push(
      hypothesis({
        id: noTls ? 'client_without_tls' : 'legacy_client',
        title: noTls
          ? `${plural(Math.min(3, clients.length), 'client')} connecting without TLS`
          : `${plural(Math.min(3, clients.length), 'client')}, legacy driver${proto ? ` (${proto})` : ''}${accepts ? `; the server asks for ${accepts}` : ''}`,
        text: `${pct(top3, f.n)}% of the ${f.n} refused handshakes came from ${clients
          .slice(0, 3)
          .map(([ip]) => ip || '(unknown address)')
          .join(
            ', ',
          )}${appText}${proto ? `; the client offered ${proto}` : ''}${accepts ? `; the server accepts ${accepts}` : ''}: ${noTls ? 'these clients do not encrypt while the server requires it' : 'an old driver or TLS library on those clients, not a server problem'}.`,
        score: 0.6 + 0.3 * (top3 / f.n),
        evidence: { refused: f.n, clients: clients.length, fromTopClients: top3 },
        clients: clients.slice(0, 3).map(([ip]) => ip),
        ...(apps.length ? { fleetKey: `app:${apps[0][0]}` } : {}),
        steps: [
          noTls
            ? `Set sslmode=require in the connection settings of ${clients[0][0]}.`
            : `Upgrade the driver / OpenSSL on ${clients[0][0]}${apps.length ? ` (${apps[0][0]})` : ''} to one that speaks ${accepts ?? 'TLS 1.2 or newer'}.`,
        ],
      }),
    )
  }
  if (clients.length >= 4) {
    out.push(
      hypothesis({
        id: 'server_tls_change',
        title: `${clients.length} clients refused at once: a TLS change on the server`,
        text: `${clients.length} different clients were refused (the top three make ${pct(top3, f.n)}%): look for a changed minimum TLS version${accepts ? ` (it asks for ${accepts} now)` : ''}, certificate or ssl setting on the server rather than at one client.`,
        score: 0.4 + 0.5 * (1 - top3 / f.n),
        evidence: { refused: f.n, clients: clients.length },
        clients: clients.slice(0, 10).map(([ip]) => ip),
        steps: [
          'Compare ssl_min_protocol_version, the certificate and ssl settings with their values before the incident.',
        ],
      }),
    )
  }
  return out
}
