import { CATEGORIES, type LogRecord } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { Classifier, CONTEXT_TEXTS, FAILURE_TEXTS, failureTerms, mayClassify, REASONS } from '../src/index.js'
import { rec } from './helpers.js'

type Case = [severity: LogRecord['severity'], message: string, reason: string, detail?: string]

// Message texts as PostgreSQL 9.x-17 and Azure write them.
const CASES: Case[] = [
  // firewall_deny
  ['FATAL', 'no pg_hba.conf entry for host "81.2.69.12", user "app", database "orders", SSL on', 'no_hba_entry'],
  ['FATAL', 'no pg_hba.conf entry for host "81.2.69.12", user "app", database "orders", SSL off', 'no_hba_entry'],
  ['FATAL', 'no pg_hba.conf entry for host "10.0.0.9", user "app", database "orders", SSL encryption', 'no_hba_entry'],
  ['FATAL', 'no pg_hba.conf entry for host "10.0.0.9", user "app", database "orders", no encryption', 'no_hba_entry'],
  ['FATAL', 'no pg_hba.conf entry for host "10.0.0.9", user "app", database "orders", GSS encryption', 'no_hba_entry'],
  ['FATAL', 'no pg_hba.conf entry for host "10.0.0.9", user "app", database "orders"', 'no_hba_entry'],
  [
    'FATAL',
    'no pg_hba.conf entry for replication connection from host "10.0.0.7", user "rep", SSL off',
    'no_hba_entry_replication',
  ],
  ['FATAL', 'pg_hba.conf rejects connection for host "10.0.0.9", user "app", database "orders", SSL on', 'hba_reject'],
  [
    'FATAL',
    'Client from Azure Virtual Networks is not allowed to access the server. Please make sure your Virtual Network is correctly configured.',
    'azure_vnet_denied',
  ],
  // auth_fail
  ['FATAL', 'password authentication failed for user "app"', 'password_auth_failed'],
  [
    'FATAL',
    'password authentication failed for user "app"',
    'password_mismatch',
    'Password does not match for user "app".\nConnection matched pg_hba.conf line 95: "host all all 0.0.0.0/0 scram-sha-256"',
  ],
  [
    'FATAL',
    'password authentication failed for user "app"',
    'password_not_assigned',
    'User "app" has no password assigned.',
  ],
  ['FATAL', 'password authentication failed for user "app"', 'password_expired', 'User "app" has an expired password.'],
  [
    'FATAL',
    'password authentication failed for user "azlev"',
    'password_auth_unknown_role',
    'Role "azlev" does not exist.',
  ],
  [
    'FATAL',
    'password authentication failed for user "app"',
    'scram_secret_invalid',
    'User "app" does not have a valid SCRAM secret.',
  ],
  [
    'FATAL',
    'password authentication failed for user "app"',
    'md5_unusable_password',
    'User "app" has a password that cannot be used with MD5 authentication.',
  ],
  ['FATAL', 'malformed SCRAM message', 'scram_exchange_failed', 'Attribute expected, but found end of string.'],
  ['FATAL', 'Ident authentication failed for user "app"', 'ident_auth_failed'],
  ['FATAL', 'Peer authentication failed for user "sherlock"', 'peer_auth_failed'],
  ['FATAL', 'could not get peer credentials: Operation not supported', 'peer_credentials_unavailable'],
  ['FATAL', 'certificate authentication failed for user "app"', 'cert_auth_failed'],
  ['FATAL', 'LDAP authentication failed for user "jdoe"', 'ldap_auth_failed'],
  ['FATAL', 'RADIUS authentication failed for user "jdoe"', 'radius_auth_failed'],
  ['FATAL', 'PAM authentication failed for user "jdoe"', 'pam_auth_failed'],
  ['FATAL', 'GSSAPI authentication failed for user "jdoe"', 'gssapi_auth_failed'],
  ['FATAL', 'SSPI authentication failed for user "jdoe"', 'sspi_auth_failed'],
  ['FATAL', 'BSD authentication failed for user "jdoe"', 'bsd_auth_failed'],
  ['FATAL', 'OAuth bearer authentication failed for user "jdoe"', 'auth_failed_other'],
  ['FATAL', 'too many failed login attempts, please try again later', 'login_throttled'],
  ['FATAL', 'connection throttled from IP address "203.0.113.7": too many login attempts', 'login_throttled'],
  ['FATAL', 'role "reporting" is not permitted to log in', 'login_not_permitted'],
  // tls_reject
  [
    'LOG',
    'could not accept SSL connection: unsupported protocol',
    'tls_unsupported_protocol',
    'This may indicate that the client does not support any SSL protocol version between TLSv1.2 and TLSv1.3.',
  ],
  ['LOG', 'could not accept SSL connection: version too low', 'tls_unsupported_protocol'],
  ['LOG', 'could not accept SSL connection: tlsv1 alert protocol version', 'tls_unsupported_protocol'],
  ['LOG', 'could not accept SSL connection: no shared cipher', 'tls_no_shared_cipher'],
  ['LOG', 'could not accept SSL connection: certificate verify failed', 'tls_certificate_error'],
  ['LOG', 'could not accept SSL connection: tlsv1 alert unknown ca', 'tls_certificate_error'],
  ['LOG', 'could not accept SSL connection: sslv3 alert handshake failure', 'tls_alert'],
  ['LOG', 'could not accept SSL connection: EOF detected', 'ssl_handshake_aborted'],
  ['LOG', 'could not accept SSL connection: Connection reset by peer', 'ssl_handshake_aborted'],
  ['LOG', 'could not accept SSL connection: http request', 'non_tls_request'],
  ['LOG', 'could not accept SSL connection: decryption failed or bad record mac', 'ssl_handshake_failed'],
  ['LOG', 'SSL error: tlsv1 alert decrypt error', 'ssl_error_startup'],
  ['FATAL', 'SSL connection is required. Please specify SSL options and retry.', 'ssl_required'],
  [
    'FATAL',
    'TLS version used does not meet minimal requirements for this server. Please use TLS 1.2 or higher.',
    'tls_version_too_low',
  ],
  ['FATAL', 'connection requires a valid client certificate', 'client_cert_required'],
  // limit_reached
  ['FATAL', 'sorry, too many clients already', 'too_many_clients'],
  ['FATAL', 'remaining connection slots are reserved for non-replication superuser connections', 'reserved_slots'],
  ['FATAL', 'remaining connection slots are reserved for superusers', 'reserved_slots'],
  ['FATAL', 'remaining connection slots are reserved for roles with the SUPERUSER attribute', 'reserved_slots'],
  [
    'FATAL',
    'remaining connection slots are reserved for roles with privileges of the "pg_use_reserved_connections" role',
    'reserved_slots',
  ],
  [
    'FATAL',
    'remaining connection slots are reserved for roles with the REPLICATION attribute',
    'reserved_slots_replication',
  ],
  [
    'FATAL',
    'number of requested standby connections exceeds max_wal_senders (currently 10)',
    'reserved_slots_replication',
  ],
  ['FATAL', 'remaining connection slots are reserved for azure_superuser', 'reserved_slots_azure'],
  ['FATAL', 'too many connections for role "app"', 'role_connection_limit'],
  ['FATAL', 'too many connections for database "orders"', 'database_connection_limit'],
  ['LOG', 'could not fork new process for connection: Resource temporarily unavailable', 'fork_failed'],
  // transient
  ['FATAL', 'the database system is starting up', 'starting_up'],
  ['FATAL', 'the database system is shutting down', 'shutting_down'],
  ['FATAL', 'the database system is in recovery mode', 'recovery_mode'],
  [
    'FATAL',
    'the database system is not yet accepting connections',
    'not_yet_accepting',
    'Consistent recovery state has not been yet reached.',
  ],
  ['FATAL', 'the database system is not accepting connections', 'not_accepting', 'Hot standby mode is disabled.'],
  ['FATAL', 'terminating connection due to administrator command', 'admin_termination'],
  [
    'FATAL',
    'terminating connection because of crash of another server process',
    'crash_termination',
    'The postmaster has commanded this server process to roll back the current transaction and exit, because another server process exited abnormally and possibly corrupted shared memory.',
  ],
  [
    'FATAL',
    'terminating connection due to conflict with recovery',
    'recovery_conflict',
    'User was holding a relation lock for too long.',
  ],
  ['FATAL', 'terminating connection due to unexpected postmaster exit', 'postmaster_exit'],
  // PostgreSQL 9.x-13 log the crash termination at WARNING (FATAL since 14)
  [
    'WARNING',
    'terminating connection because of crash of another server process',
    'crash_termination',
    'The postmaster has commanded this server process to roll back the current transaction and exit, because another server process exited abnormally and possibly corrupted shared memory.',
  ],
  // user_error
  ['FATAL', 'database "users" does not exist', 'database_not_found'],
  ['FATAL', 'role "jose.villanova" does not exist', 'role_not_found'],
  ['FATAL', 'permission denied for database "orders"', 'no_connect_privilege', 'User does not have CONNECT privilege.'],
  ['FATAL', 'database "template0" is not currently accepting connections', 'database_not_accepting_connections'],
  [
    'FATAL',
    'Invalid Username specified. Please check the Username and retry connection. The Username should be in <username@hostname> format.',
    'invalid_username_format',
  ],
  // network
  ['LOG', 'incomplete startup packet', 'incomplete_startup_packet'],
  ['LOG', 'invalid length of startup packet', 'invalid_startup_packet'],
  ['FATAL', 'unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0', 'unsupported_frontend_protocol'],
  ['FATAL', 'invalid frontend message type 0', 'invalid_frontend_message'],
  ['FATAL', 'expected password response, got message type 88', 'invalid_frontend_message'],
  ['LOG', 'could not receive data from client: Connection reset by peer', 'client_connection_reset'],
  [
    'LOG',
    'could not receive data from client: An existing connection was forcibly closed by the remote host.',
    'client_connection_reset',
  ],
  ['LOG', 'could not receive data from client: Connection timed out', 'client_connection_timeout'],
  [
    'LOG',
    'could not receive data from client: No connection could be made because the target machine actively refused it.',
    'connection_refused',
  ],
  ['LOG', 'could not receive data from client: Bad file descriptor', 'client_recv_failed'],
  ['LOG', 'could not send data to client: Broken pipe', 'client_send_failed'],
  ['FATAL', 'connection to client lost', 'client_connection_lost'],
  ['LOG', 'unexpected EOF on client connection', 'unexpected_eof'],
  ['LOG', 'unexpected EOF on client connection with an open transaction', 'unexpected_eof_in_transaction'],
  ['FATAL', 'canceling authentication due to timeout', 'authentication_timeout'],
  ['FATAL', 'terminating connection because protocol synchronization was lost', 'protocol_sync_lost'],
  ['LOG', 'incomplete message from client', 'incomplete_message'],

  // Wordings of PostgreSQL 9.6-17 the real-server suite (15) cannot produce, as the server's
  // source writes them (src/backend/postmaster/postmaster.c, tcop/backend_startup.c since 17,
  // libpq/auth.c, utils/init/postinit.c).
  // startup packet: the layout check (FATAL) and a packet with no user (FATAL)
  ['FATAL', 'invalid startup packet layout: expected terminator as last byte', 'invalid_startup_packet'],
  ['FATAL', 'no PostgreSQL user name specified in startup packet', 'no_user_name'],
  // CVE-2021-23214 (9.6.24, 10.19, 11.14, 12.9, 13.5, 14+); the GSSAPI form since 12
  [
    'FATAL',
    'received unencrypted data after SSL request',
    'unencrypted_data_after_negotiation',
    'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.',
  ],
  ['FATAL', 'received unencrypted data after GSSAPI encryption request', 'unencrypted_data_after_negotiation'],
  // 17: sslnegotiation=direct without ALPN (COMMERROR: logged at LOG, nothing sent)
  ['LOG', 'received direct SSL connection request without ALPN protocol negotiation extension', 'tls_direct_without_alpn'],
  // the answer to SSLRequest / GSSENCRequest could not be sent (COMMERROR)
  ['LOG', 'failed to send SSL negotiation response: Connection reset by peer', 'client_send_failed'],
  ['LOG', 'failed to send GSSAPI negotiation response: Broken pipe', 'client_send_failed'],
  // GSS token exchange: FATAL before 14, logged only (COMMERROR) since
  ['FATAL', 'expected GSS response, got message type 88', 'invalid_frontend_message'],
  ['LOG', 'expected GSS response, got message type 88', 'invalid_frontend_message'],
  ['LOG', 'expected SASL response, got message type 88', 'invalid_frontend_message'],
  // a walsender for a role without REPLICATION: 9.6-15, and 16+ (with a DETAIL)
  ['FATAL', 'must be superuser or replication role to start walsender', 'no_replication_privilege'],
  [
    'FATAL',
    'permission denied to start WAL sender',
    'no_replication_privilege',
    'Only roles with the REPLICATION attribute may start a WAL sender process.',
  ],
  // PostgreSQL 16+ hba DETAIL names the file; the refinement reads it like the older form
  [
    'FATAL',
    'password authentication failed for user "app"',
    'password_mismatch',
    'Password does not match for user "app".\nConnection matched file "pg_hba.conf" line 3: "host all all 0.0.0.0/0 md5"',
  ],
  // 9.6-13: pg_hba texts end in SSL on/off; 14+ in no/SSL/GSS encryption (above)
  ['FATAL', 'pg_hba.conf rejects connection for host "10.0.0.9", user "app", database "orders", SSL off', 'hba_reject'],
  ['FATAL', 'pg_hba.conf rejects replication connection for host "10.0.0.7", user "rep", no encryption', 'hba_reject'],
  ['FATAL', 'no pg_hba.conf entry for replication connection from host "10.0.0.7", user "rep", GSS encryption', 'no_hba_entry_replication'],
  // 9.6-15 / 16+ reserved-slot wordings are above; 9.6-13 idle timeouts are no failures (classifier.test)
]

describe('rule catalog', () => {
  it.each(CASES)('%s %s -> %s', (severity, message, reason, detail) => {
    // a user field makes terminations recognisable as client sessions
    const ev = new Classifier().classify(rec(severity, message, { detail, user: 'app' }))
    expect(ev?.outcome).toBe('failed')
    expect(ev?.reason).toBe(reason)
    expect(ev?.category).toBe(REASONS[reason].category)
  })

  it.each(CASES)("passes the parsers' relevance filter from its first line: %s %s", (severity, message) => {
    expect(mayClassify(severity, message, 0, undefined)).toBe(true)
    // as a parser sees it: the message in the middle of the raw line
    const line = `2026-03-02 10:00:00.000 UTC [42] app@db ${severity}:  ${message}`
    expect(mayClassify(severity, line, line.indexOf(message), undefined)).toBe(true)
  })

  it('covers every reason of the catalog except the history- and session-dependent ones', () => {
    const tested = new Set(CASES.map((c) => c[2]))
    const stateful = ['no_hba_entry_ssl_off_known_client', 'hba_reject_ssl_off_known_client', 'ssl_error_in_session']
    const untested = Object.keys(REASONS).filter((r) => !tested.has(r) && !stateful.includes(r))
    expect(untested).toEqual([])
  })

  it('documents each reason with a valid category, a description and a SQLSTATE', () => {
    for (const [key, info] of Object.entries(REASONS)) {
      expect(key).toMatch(/^[a-z0-9_]+$/)
      expect(CATEGORIES).toContain(info.category)
      expect(info.description.length).toBeGreaterThan(10)
      expect((info as { sqlstate?: string }).sqlstate).toMatch(/^[0-9A-Z]{5}$/)
    }
  })

  it('accepts the verbose form with the SQLSTATE in front of the text', () => {
    const ev = new Classifier().classify(rec('LOG', '08P01: incomplete startup packet'))
    expect(ev?.reason).toBe('incomplete_startup_packet')
    expect(ev?.message).toBe('incomplete startup packet')
  })

  it('takes the SQLSTATE from the record, else from the rule', () => {
    const c = new Classifier()
    expect(c.classify(rec('FATAL', 'sorry, too many clients already'))?.sqlstate).toBe('53300')
    expect(c.classify(rec('FATAL', 'the database system is starting up'))?.sqlstate).toBe('57P03')
    expect(c.classify(rec('FATAL', 'database "x" does not exist'))?.sqlstate).toBe('3D000')
    expect(c.classify(rec('FATAL', 'password authentication failed for user "a"'))?.sqlstate).toBe('28P01')
    expect(
      c.classify(rec('FATAL', 'no pg_hba.conf entry for host "1.2.3.4", user "a", database "b", SSL on'))?.sqlstate,
    ).toBe('28000')
    expect(c.classify(rec('FATAL', 'role "a" does not exist', { sqlstate: 'XX123' }))?.sqlstate).toBe('XX123')
  })

  // A term-index prefilter (the Azure source's KQL `has_any`) built from failureTerms() must keep
  // every failure text of the catalog, and the lines the classifier reads around them.
  it('every catalog text and context line contains a whole term of failureTerms()', () => {
    const terms = failureTerms()
    // KQL `has`: a whole run of letters and digits, case-insensitive.
    const has = (text: string, term: string) =>
      new RegExp(`(^|[^A-Za-z0-9])${term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9])`, 'i').test(text)
    const texts = [
      ...CASES.map((c) => c[1]),
      ...FAILURE_TEXTS,
      ...CONTEXT_TEXTS,
      'connection received: host=10.0.0.9 port=50412',
      'replication connection authorized: user=rep',
      'disconnection: session time: 0:00:01.002 user=app database=orders host=10.0.0.9 port=50412',
    ]
    const dropped = texts.filter((t) => !terms.some((term) => has(t, term)))
    expect(dropped).toEqual([])
  })

  it('FAILURE_TEXTS names only texts the rules recognise', () => {
    const c = new Classifier()
    const unknown = FAILURE_TEXTS.filter((t) => {
      const msg = t.replace('"… ', '"x" ').replace(/^the database system is$/i, 'the database system is starting up')
      const full = /connection$|^SSL error$/.test(msg) ? `${msg}: x` : msg
      return c.classify(rec('FATAL', full, { backendType: 'client backend' }))?.outcome !== 'failed'
    })
    expect(unknown).toEqual([])
  })
})
