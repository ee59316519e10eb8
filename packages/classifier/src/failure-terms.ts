/**
 * What the failure rules (rules.ts) look for in a message, one entry per rule: the text a
 * message starts with, or (for matchFatalFallback) contains. It lets a source drop lines that
 * cannot be failures before they are shipped or parsed (the Azure source's KQL `has_any`), and
 * the catalog test keeps it honest: every failure text the classifier recognises contains a term
 * of `failureTerms()`.
 */
export const FAILURE_TEXTS: readonly string[] = [
  // firewall_deny
  'no pg_hba.conf entry',
  'pg_hba.conf rejects',
  'Client from Azure Virtual Networks',
  // auth_fail
  'password authentication failed',
  'authentication failed for user',
  'Peer authentication failed',
  'PAM authentication failed',
  'pam_authenticate failed',
  'Ident authentication failed',
  'LDAP authentication failed',
  'RADIUS authentication failed',
  'GSSAPI authentication failed',
  'Kerberos 5 authentication failed',
  'BSD authentication failed',
  'SSPI authentication failed',
  'certificate authentication failed',
  'could not accept GSSAPI security context',
  'could not get peer credentials',
  'Invalid Username specified',
  'malformed SCRAM message',
  'role "… is not permitted to log in',
  'role "… does not exist',
  'permission denied for database',
  'permission denied to start WAL sender',
  'must be superuser or replication role to start walsender',
  'no PostgreSQL user name specified',
  'database "… does not exist',
  'Too many failed login attempts',
  'too many failed login attempts',
  'failed login attempts',
  'connection throttled from IP address',
  // tls_reject
  'could not accept SSL connection',
  'SSL error',
  'SSL connection is required',
  'TLS version',
  'connection requires a valid client certificate',
  'received direct SSL connection request without ALPN',
  // limit_reached
  'sorry, too many clients',
  'remaining connection slots are reserved',
  'number of requested standby connections exceeds',
  'too many connections for role',
  'too many connections for database',
  'could not fork new process for connection',
  // transient / protocol / network
  'the database system is',
  'The database system is',
  'database "… is not currently accepting connections',
  'cannot connect to invalid database',
  'terminating connection due to administrator command',
  'terminating connection because of crash of another server process',
  'terminating connection due to conflict with recovery',
  'terminating connection due to unexpected postmaster exit',
  'incomplete startup packet',
  'invalid length of startup packet',
  'invalid startup packet layout',
  'received unencrypted data after',
  'failed to send SSL negotiation response',
  'failed to send GSSAPI negotiation response',
  'invalid frontend message type',
  'unsupported frontend protocol',
  'expected password response',
  'expected SASL response',
  'expected GSS response',
  'canceling authentication due to timeout',
  'unexpected EOF on client connection',
  'could not receive data from client',
  'could not send data to client',
  'connection to client lost',
  'An existing connection was forcibly closed',
  'No connection could be made',
]

/**
 * Lines that are not failures but that the classifier reads to decide one (an attempt's start,
 * its address, an authorized session before an SSL error): a prefilter must keep them too.
 */
export const CONTEXT_TEXTS: readonly string[] = [
  'connection received',
  'connection authorized',
  'connection authenticated',
  'replication connection authorized',
  'disconnection',
]

/** Words too common to tell failures from other lines; never chosen as a term. */
const WEAK = new Set(['the', 'for', 'not', 'could', 'from', 'too', 'many', 'database', 'system', 'failed'])

/**
 * One whole word (a run of letters and digits, as a term index such as KQL's splits text) of
 * every failure text, and of the context lines: the longest distinctive word of each, so that a
 * `has_any` over these terms keeps every line the classifier can use.
 */
export function failureTerms(): string[] {
  const terms = new Set<string>()
  for (const text of [...FAILURE_TEXTS, ...CONTEXT_TEXTS]) {
    const words = text.split(/[^A-Za-z0-9]+/).filter((w) => w.length >= 3)
    const strong = words.filter((w) => !WEAK.has(w.toLowerCase()))
    const pick = (strong.length ? strong : words).reduce((a, b) => (b.length > a.length ? b : a))
    terms.add(pick)
  }
  return [...terms]
}
