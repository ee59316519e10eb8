import type { Reason } from './reasons.js'

/**
 * Failure texts -> reason. The caller has already decided (by severity and first character) that
 * the message may be about a connection; here a switch on the first character narrows the
 * candidates to a handful of `startsWith` checks, and only the few refinements that need it look
 * further into the text. No regular expressions.
 *
 * Some texts need the classifier's state to decide; they come back as a marker:
 *  - `@hba` / `@hba_reject`: no pg_hba.conf entry / reject line; firewall or TLS reject by history
 *  - `@ssl_error`: `SSL error:`; startup (tls_reject) or an authorized session (network)
 *  - `@password`: password authentication failed; refined by DETAIL or an earlier LOG line
 *  - `@terminate`: a session ended by the server; only counts for client backends
 */
export type Match = Reason | '@hba' | '@hba_reject' | '@ssl_error' | '@password' | `@terminate:${Reason}`

const ACCEPT_SSL = 'could not accept SSL connection'
const DB_SYSTEM = 'the database system is '

export function matchFailure(msg: string): Match | undefined {
  switch (msg.charCodeAt(0)) {
    case 110: // n
      if (msg.startsWith('no pg_hba.conf entry')) return '@hba'
      if (msg.startsWith('number of requested standby connections exceeds')) return 'reserved_slots_replication'
      if (msg.startsWith('no PostgreSQL user name specified')) return 'no_user_name'
      return undefined
    case 112: // p
      if (msg.startsWith('password authentication failed')) return '@password'
      if (msg.startsWith('pg_hba.conf rejects')) return '@hba_reject'
      if (msg.startsWith('permission denied for database')) return 'no_connect_privilege'
      if (msg.startsWith('permission denied to start WAL sender')) return 'no_replication_privilege' // 16+
      if (msg.startsWith('pam_authenticate failed')) return 'pam_auth_failed'
      return undefined
    case 80: // P
      if (msg.startsWith('Peer authentication failed')) return 'peer_auth_failed'
      if (msg.startsWith('PAM authentication failed')) return 'pam_auth_failed'
      return undefined
    case 73: // I
      if (msg.startsWith('Ident authentication failed')) return 'ident_auth_failed'
      if (msg.startsWith('Invalid Username specified')) return 'invalid_username_format'
      return undefined
    case 105: // i
      if (msg.startsWith('incomplete startup packet')) return 'incomplete_startup_packet'
      if (msg.startsWith('invalid length of startup packet')) return 'invalid_startup_packet'
      if (msg.startsWith('invalid startup packet layout')) return 'invalid_startup_packet'
      if (msg.startsWith('invalid frontend message type')) return 'invalid_frontend_message'
      if (msg.startsWith('incomplete message from client')) return 'incomplete_message'
      return undefined
    case 99: // c
      return matchC(msg)
    case 76: // L
      return msg.startsWith('LDAP authentication failed') ? 'ldap_auth_failed' : undefined
    case 82: // R
      return msg.startsWith('RADIUS authentication failed') ? 'radius_auth_failed' : undefined
    case 71: // G
      return msg.startsWith('GSSAPI authentication failed') ? 'gssapi_auth_failed' : undefined
    case 75: // K (pre-9.4 krb5)
      return msg.startsWith('Kerberos 5 authentication failed') ? 'gssapi_auth_failed' : undefined
    case 66: // B
      return msg.startsWith('BSD authentication failed') ? 'bsd_auth_failed' : undefined
    case 83: // S
      if (msg.startsWith('SSPI authentication failed')) return 'sspi_auth_failed'
      if (msg.startsWith('SSL error')) return '@ssl_error'
      if (msg.startsWith('SSL connection is required')) return 'ssl_required'
      return undefined
    case 114: // r
      // 9.6.24+ / 10.19+ / 11.14+ / 12.9+ / 13.5+ / 14+ (CVE-2021-23214); GSSAPI since 12
      if (msg.startsWith('received unencrypted data after')) return 'unencrypted_data_after_negotiation'
      if (msg.startsWith('received direct SSL connection request without ALPN')) return 'tls_direct_without_alpn' // 17+
      if (msg.startsWith('role "')) {
        if (msg.endsWith('is not permitted to log in')) return 'login_not_permitted'
        if (msg.endsWith('does not exist')) return 'role_not_found'
        return undefined
      }
      if (msg.startsWith('remaining connection slots are reserved')) {
        if (msg.includes('azure_superuser')) return 'reserved_slots_azure'
        if (msg.includes('REPLICATION') || msg.includes('replication superuser')) {
          // "non-replication superuser connections" is the plain superuser reserve of PG <= 15
          return msg.includes('non-replication') ? 'reserved_slots' : 'reserved_slots_replication'
        }
        return 'reserved_slots'
      }
      return undefined
    case 115: // s
      return msg.startsWith('sorry, too many clients') ? 'too_many_clients' : undefined
    case 116: // t
      return matchT(msg)
    case 84: // T
      if (msg.startsWith('TLS version')) return 'tls_version_too_low'
      if (msg.startsWith('Too many failed login attempts')) return 'login_throttled'
      return msg.startsWith('The database system is ') ? matchT(`t${msg.slice(1)}`) : undefined
    case 100: // d
      if (msg.startsWith('database "')) {
        if (msg.endsWith('does not exist')) return 'database_not_found'
        if (msg.includes('is not currently accepting connections')) return 'database_not_accepting_connections'
      }
      return undefined
    case 117: // u
      if (msg.startsWith('unexpected EOF on client connection')) {
        return msg.length > 36 && msg.includes('open transaction') ? 'unexpected_eof_in_transaction' : 'unexpected_eof'
      }
      if (msg.startsWith('unsupported frontend protocol')) return 'unsupported_frontend_protocol'
      return undefined
    case 67: // C
      return msg.startsWith('Client from Azure Virtual Networks') ? 'azure_vnet_denied' : undefined
    case 109: // m
      if (msg.startsWith('malformed SCRAM message')) return 'scram_exchange_failed'
      // 9.6-15; 16+ says `permission denied to start WAL sender`
      if (msg.startsWith('must be superuser or replication role to start walsender')) return 'no_replication_privilege'
      return undefined
    case 102: // f: `failed to send SSL negotiation response: <OS text>` (GSSAPI since 12)
      return msg.startsWith('failed to send SSL negotiation response') ||
        msg.startsWith('failed to send GSSAPI negotiation response')
        ? 'client_send_failed'
        : undefined
    case 101: // e
      return msg.startsWith('expected password response') ||
        msg.startsWith('expected SASL response') ||
        msg.startsWith('expected GSS response')
        ? 'invalid_frontend_message'
        : undefined
    case 65: // A (Windows socket texts logged on their own)
      return msg.startsWith('An existing connection was forcibly closed') ? 'client_connection_reset' : undefined
    case 78: // N
      return msg.startsWith('No connection could be made') ? 'connection_refused' : undefined
  }
  return undefined
}

function matchC(msg: string): Match | undefined {
  if (msg.startsWith('could not ')) {
    if (msg.startsWith('receive data from client', 10)) return socketFailure(msg, 'client_recv_failed')
    if (msg.startsWith('send data to client', 10)) return socketFailure(msg, 'client_send_failed')
    if (msg.startsWith(ACCEPT_SSL)) return sslAcceptFailure(msg)
    if (msg.startsWith('get peer credentials', 10)) return 'peer_credentials_unavailable'
    if (msg.startsWith('fork new process for connection', 10)) return 'fork_failed'
    if (msg.startsWith('accept GSSAPI security context', 10)) return 'gssapi_auth_failed'
    return undefined
  }
  if (msg.startsWith('certificate authentication failed')) return 'cert_auth_failed'
  if (msg.startsWith('connection to client lost')) return 'client_connection_lost'
  // Azure's gateway: `connection throttled from IP address "…": too many login attempts`
  if (msg.startsWith('connection throttled')) return 'login_throttled'
  if (msg.startsWith('connection requires a valid client certificate')) return 'client_cert_required'
  if (msg.startsWith('canceling authentication due to timeout')) return 'authentication_timeout'
  if (msg.startsWith('cannot connect to invalid database')) return 'database_not_accepting_connections'
  return undefined
}

function matchT(msg: string): Match | undefined {
  if (msg.startsWith(DB_SYSTEM)) {
    const at = DB_SYSTEM.length
    if (msg.startsWith('starting up', at)) return 'starting_up'
    if (msg.startsWith('shutting down', at)) return 'shutting_down'
    if (msg.startsWith('in recovery mode', at)) return 'recovery_mode'
    if (msg.startsWith('not yet accepting connections', at)) return 'not_yet_accepting'
    if (msg.startsWith('not accepting connections', at)) return 'not_accepting'
    return undefined
  }
  if (msg.startsWith('terminating connection ')) {
    if (msg.includes('protocol synchronization was lost')) return 'protocol_sync_lost'
    if (msg.includes('administrator command')) return '@terminate:admin_termination'
    if (msg.includes('crash of another server process')) return '@terminate:crash_termination'
    if (msg.includes('conflict with recovery')) return '@terminate:recovery_conflict'
    if (msg.includes('unexpected postmaster exit')) return '@terminate:postmaster_exit'
    // idle-session / idle-in-transaction / transaction timeouts: the server did what it was
    // configured to do with an established session; not a connection failure.
    return undefined
  }
  if (msg.startsWith('too many connections for ')) {
    if (msg.startsWith('role', 25)) return 'role_connection_limit'
    if (msg.startsWith('database', 25)) return 'database_connection_limit'
    return undefined
  }
  if (msg.startsWith('too many failed login attempts')) return 'login_throttled'
  return undefined
}

/** `could not receive data from client: <OS text>`; Linux and Windows wordings. */
function socketFailure(msg: string, fallback: Reason): Reason {
  if (msg.includes('reset by peer') || msg.includes('forcibly closed')) return 'client_connection_reset'
  if (msg.includes('timed out')) return 'client_connection_timeout'
  if (msg.includes('No connection could be made')) return 'connection_refused'
  return fallback
}

/** `could not accept SSL connection: <OpenSSL reason or OS error>`. */
function sslAcceptFailure(msg: string): Reason {
  const tail = msg.length > ACCEPT_SSL.length + 2 ? msg.slice(ACCEPT_SSL.length + 2) : ''
  if (
    tail.includes('unsupported protocol') ||
    tail.includes('version too low') ||
    tail.includes('protocol version') ||
    tail.includes('no protocols available') ||
    tail.includes('inappropriate fallback') ||
    tail.includes('unsupported ssl version')
  ) {
    return 'tls_unsupported_protocol'
  }
  if (tail.includes('http request') || tail.includes('https proxy request') || tail.includes('wrong version number')) {
    return 'non_tls_request'
  }
  if (tail.includes('no shared cipher') || tail.includes('no suitable signature') || tail.includes('no cipher')) {
    return 'tls_no_shared_cipher'
  }
  if (tail.includes('certificate') || tail.includes('unknown ca') || tail.includes('bad signature')) {
    return 'tls_certificate_error'
  }
  if (tail.includes('alert')) return 'tls_alert'
  if (
    tail === '' ||
    tail.includes('EOF') ||
    tail.includes('reset by peer') ||
    tail.includes('Broken pipe') ||
    tail.includes('forcibly closed') ||
    tail === 'Success'
  ) {
    return 'ssl_handshake_aborted'
  }
  return 'ssl_handshake_failed'
}

/** DETAIL of `password authentication failed` says why (PG 10+). */
export function passwordReason(detail: string | undefined): Reason {
  if (!detail) return 'password_auth_failed'
  if (detail.includes('does not match')) return 'password_mismatch'
  if (detail.includes('has no password assigned')) return 'password_not_assigned'
  if (detail.includes('expired password')) return 'password_expired'
  if (detail.startsWith('Role "') && detail.includes('does not exist')) return 'password_auth_unknown_role'
  if (detail.includes('valid SCRAM')) return 'scram_secret_invalid'
  if (detail.includes('cannot be used with MD5')) return 'md5_unusable_password'
  return 'password_auth_failed'
}

/**
 * Azure wordings that do not start with a fixed text, checked for FATAL records only when the
 * first-character dispatch found nothing.
 */
export function matchFatalFallback(msg: string): Reason | undefined {
  if (msg.includes('authentication failed for user')) return 'auth_failed_other'
  if (msg.includes('failed login attempts')) return 'login_throttled'
  if (msg.includes('SSL connection is required')) return 'ssl_required'
  if (msg.includes('TLS version') && msg.includes('minimal')) return 'tls_version_too_low'
  if (msg.includes('Virtual Network') && msg.includes('not allowed')) return 'azure_vnet_denied'
  if (msg.includes('remaining connection slots are reserved')) return 'reserved_slots'
  return undefined
}
