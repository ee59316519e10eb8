import type { Category } from '@connrca/contracts'
import type { ServerProfile } from './types.js'

/** The failing line of one attempt, worded as the server's PostgreSQL version / Azure writes it. */
export interface FailureText {
  sev: 'FATAL' | 'LOG'
  msg: string
  detail?: string
  hint?: string
  sqlstate: string
}

export interface AttemptContext {
  p: ServerProfile
  ip: string
  user: string
  database: string
}

export interface Template {
  category: Category
  /**
   * 'startup': connection received, then the failure (before authentication).
   * 'session': received, authorized, a statement, then the failure (an established session breaks).
   */
  shape: 'startup' | 'session'
  /** Whether user/database are known at the failure (from the startup packet). */
  knowsUser: boolean
  text(c: AttemptContext): FailureText
}

const hbaLine = (p: ServerProfile) =>
  p.version >= 14 ? '"host all all 0.0.0.0/0 scram-sha-256"' : '"host all all 0.0.0.0/0 md5"'
const encrypted = (p: ServerProfile) => (p.version >= 12 ? 'SSL encryption' : 'SSL on')

/** Keys are classifier reasons: an attempt made from template `k` must be classified as `k`. */
export const TEMPLATES: Record<string, Template> = {
  no_hba_entry: {
    category: 'firewall_deny',
    shape: 'startup',
    knowsUser: true,
    text: ({ p, ip, user, database }) => ({
      sev: 'FATAL',
      sqlstate: '28000',
      msg: `no pg_hba.conf entry for host "${ip}", user "${user}", database "${database}", ${encrypted(p)}`,
    }),
  },
  hba_reject: {
    category: 'firewall_deny',
    shape: 'startup',
    knowsUser: true,
    text: ({ p, ip, user, database }) => ({
      sev: 'FATAL',
      sqlstate: '28000',
      msg: `pg_hba.conf rejects connection for host "${ip}", user "${user}", database "${database}", ${encrypted(p)}`,
    }),
  },
  azure_vnet_denied: {
    category: 'firewall_deny',
    shape: 'startup',
    knowsUser: true,
    text: () => ({
      sev: 'FATAL',
      sqlstate: '28000',
      msg: 'Client from Azure Virtual Networks is not allowed to access the server. Please make sure your Virtual Network is correctly configured.',
    }),
  },
  password_mismatch: {
    category: 'auth_fail',
    shape: 'startup',
    knowsUser: true,
    text: ({ p, user }) => ({
      sev: 'FATAL',
      sqlstate: '28P01',
      msg: `password authentication failed for user "${user}"`,
      detail: `Password does not match for user "${user}".\nConnection matched pg_hba.conf line 95: ${hbaLine(p)}`,
    }),
  },
  password_expired: {
    category: 'auth_fail',
    shape: 'startup',
    knowsUser: true,
    text: ({ p, user }) => ({
      sev: 'FATAL',
      sqlstate: '28P01',
      msg: `password authentication failed for user "${user}"`,
      detail: `User "${user}" has an expired password.\nConnection matched pg_hba.conf line 95: ${hbaLine(p)}`,
    }),
  },
  password_auth_unknown_role: {
    category: 'auth_fail',
    shape: 'startup',
    knowsUser: true,
    text: ({ p, user }) => ({
      sev: 'FATAL',
      sqlstate: '28P01',
      msg: `password authentication failed for user "${user}"`,
      detail: `Role "${user}" does not exist.\nConnection matched pg_hba.conf line 95: ${hbaLine(p)}`,
    }),
  },
  password_auth_failed: {
    category: 'auth_fail',
    shape: 'startup',
    knowsUser: true,
    text: ({ user }) => ({ sev: 'FATAL', sqlstate: '28P01', msg: `password authentication failed for user "${user}"` }),
  },
  cert_auth_failed: {
    category: 'auth_fail',
    shape: 'startup',
    knowsUser: true,
    text: ({ user }) => ({
      sev: 'FATAL',
      sqlstate: '28000',
      msg: `certificate authentication failed for user "${user}"`,
    }),
  },
  ldap_auth_failed: {
    category: 'auth_fail',
    shape: 'startup',
    knowsUser: true,
    text: ({ user }) => ({ sev: 'FATAL', sqlstate: '28000', msg: `LDAP authentication failed for user "${user}"` }),
  },
  login_not_permitted: {
    category: 'auth_fail',
    shape: 'startup',
    knowsUser: true,
    text: ({ user }) => ({ sev: 'FATAL', sqlstate: '28000', msg: `role "${user}" is not permitted to log in` }),
  },
  tls_unsupported_protocol: {
    category: 'tls_reject',
    shape: 'startup',
    knowsUser: false,
    text: ({ p }) => ({
      sev: 'LOG',
      sqlstate: '08P01',
      msg: 'could not accept SSL connection: unsupported protocol',
      // a HINT, as be-secure-openssl.c writes it (errhint), not a DETAIL
      hint:
        p.version >= 14
          ? 'This may indicate that the client does not support any SSL protocol version between TLSv1.2 and TLSv1.3.'
          : undefined,
    }),
  },
  tls_no_shared_cipher: {
    category: 'tls_reject',
    shape: 'startup',
    knowsUser: false,
    text: () => ({ sev: 'LOG', sqlstate: '08P01', msg: 'could not accept SSL connection: no shared cipher' }),
  },
  tls_certificate_error: {
    category: 'tls_reject',
    shape: 'startup',
    knowsUser: false,
    text: () => ({ sev: 'LOG', sqlstate: '08P01', msg: 'could not accept SSL connection: tlsv1 alert unknown ca' }),
  },
  ssl_required: {
    category: 'tls_reject',
    shape: 'startup',
    knowsUser: true,
    text: () => ({
      sev: 'FATAL',
      sqlstate: '28000',
      msg: 'SSL connection is required. Please specify SSL options and retry.',
    }),
  },
  too_many_clients: {
    category: 'limit_reached',
    shape: 'startup',
    knowsUser: true,
    text: () => ({ sev: 'FATAL', sqlstate: '53300', msg: 'sorry, too many clients already' }),
  },
  reserved_slots: {
    category: 'limit_reached',
    shape: 'startup',
    knowsUser: true,
    text: ({ p }) => ({
      sev: 'FATAL',
      sqlstate: '53300',
      msg:
        p.version >= 16
          ? 'remaining connection slots are reserved for roles with the SUPERUSER attribute'
          : 'remaining connection slots are reserved for non-replication superuser connections',
    }),
  },
  reserved_slots_azure: {
    category: 'limit_reached',
    shape: 'startup',
    knowsUser: true,
    text: () => ({
      sev: 'FATAL',
      sqlstate: '53300',
      msg: 'remaining connection slots are reserved for azure_superuser',
    }),
  },
  role_connection_limit: {
    category: 'limit_reached',
    shape: 'startup',
    knowsUser: true,
    text: ({ user }) => ({ sev: 'FATAL', sqlstate: '53300', msg: `too many connections for role "${user}"` }),
  },
  starting_up: {
    category: 'transient',
    shape: 'startup',
    knowsUser: true,
    text: () => ({ sev: 'FATAL', sqlstate: '57P03', msg: 'the database system is starting up' }),
  },
  shutting_down: {
    category: 'transient',
    shape: 'startup',
    knowsUser: true,
    text: () => ({ sev: 'FATAL', sqlstate: '57P03', msg: 'the database system is shutting down' }),
  },
  not_yet_accepting: {
    category: 'transient',
    shape: 'startup',
    knowsUser: true,
    text: () => ({
      sev: 'FATAL',
      sqlstate: '57P03',
      msg: 'the database system is not yet accepting connections',
      detail: 'Consistent recovery state has not been yet reached.',
    }),
  },
  admin_termination: {
    category: 'transient',
    shape: 'session',
    knowsUser: true,
    text: () => ({ sev: 'FATAL', sqlstate: '57P01', msg: 'terminating connection due to administrator command' }),
  },
  database_not_found: {
    category: 'user_error',
    shape: 'startup',
    knowsUser: true,
    text: ({ database }) => ({ sev: 'FATAL', sqlstate: '3D000', msg: `database "${database}" does not exist` }),
  },
  role_not_found: {
    category: 'user_error',
    shape: 'startup',
    knowsUser: true,
    text: ({ user }) => ({ sev: 'FATAL', sqlstate: '28000', msg: `role "${user}" does not exist` }),
  },
  no_connect_privilege: {
    category: 'user_error',
    shape: 'startup',
    knowsUser: true,
    text: ({ database }) => ({
      sev: 'FATAL',
      sqlstate: '42501',
      msg: `permission denied for database "${database}"`,
      detail: 'User does not have CONNECT privilege.',
    }),
  },
  invalid_username_format: {
    category: 'user_error',
    shape: 'startup',
    knowsUser: true,
    text: () => ({
      sev: 'FATAL',
      sqlstate: '28000',
      msg: 'Invalid Username specified. Please check the Username and retry connection. The Username should be in <username@hostname> format.',
    }),
  },
  incomplete_startup_packet: {
    category: 'network',
    shape: 'startup',
    knowsUser: false,
    text: () => ({ sev: 'LOG', sqlstate: '08P01', msg: 'incomplete startup packet' }),
  },
  client_connection_reset: {
    category: 'network',
    shape: 'session',
    knowsUser: true,
    text: () => ({
      sev: 'LOG',
      sqlstate: '08006',
      msg: 'could not receive data from client: Connection reset by peer',
    }),
  },
  unexpected_eof_in_transaction: {
    category: 'network',
    shape: 'session',
    knowsUser: true,
    text: () => ({
      sev: 'LOG',
      sqlstate: '08006',
      msg: 'unexpected EOF on client connection with an open transaction',
    }),
  },
}

/** The reason an incident of `category` uses when it names none. */
export const DEFAULT_REASON: Record<Category, string> = {
  firewall_deny: 'no_hba_entry',
  auth_fail: 'password_mismatch',
  tls_reject: 'tls_unsupported_protocol',
  limit_reached: 'too_many_clients',
  // a restart: `shutting down` for the first 30% of the incident, then `starting up`
  transient: 'restart',
  user_error: 'database_not_found',
  network: 'incomplete_startup_packet',
}

export function templateFor(reason: string, category: Category): Template {
  const t = TEMPLATES[reason]
  if (!t) {
    throw new Error(
      `generate: incident reason "${reason}" has no message template; use one of: restart, ${Object.keys(TEMPLATES).join(', ')}`,
    )
  }
  if (t.category !== category) {
    throw new Error(`generate: incident reason "${reason}" belongs to category ${t.category}, not ${category}`)
  }
  return t
}
