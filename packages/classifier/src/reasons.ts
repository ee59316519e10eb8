import type { Category } from '@connrca/contracts'

export interface ReasonInfo {
  category: Category
  description: string
  /** SQLSTATE PostgreSQL reports for this failure; used when the record carries none. */
  sqlstate?: string
}

/**
 * The rule catalog: every reason a failed ConnectionEvent can carry. Keys are stable (they are stored
 * and aggregated); descriptions say what the server saw, in the project's own words.
 */
const CATALOG = {
  // firewall_deny: the server (or Azure's gateway) refused the client's address before authentication.
  no_hba_entry: {
    category: 'firewall_deny',
    description: 'No pg_hba.conf line (or Azure firewall rule) admits this client address, user and database.',
    sqlstate: '28000',
  },
  no_hba_entry_replication: {
    category: 'firewall_deny',
    description: 'No pg_hba.conf line admits a replication connection from this client address.',
    sqlstate: '28000',
  },
  hba_reject: {
    category: 'firewall_deny',
    description: 'A pg_hba.conf "reject" line matched the client address.',
    sqlstate: '28000',
  },
  azure_vnet_denied: {
    category: 'firewall_deny',
    description: 'The client comes from an Azure virtual network that has no VNet rule on the server.',
    sqlstate: '28000',
  },

  // auth_fail: the address was admitted, the credentials were not.
  password_auth_failed: {
    category: 'auth_fail',
    description: 'Password (md5 / SCRAM / plain) authentication failed.',
    sqlstate: '28P01',
  },
  password_mismatch: {
    category: 'auth_fail',
    description: 'Password authentication failed: the password does not match the stored one.',
    sqlstate: '28P01',
  },
  password_not_assigned: {
    category: 'auth_fail',
    description: 'Password authentication failed: the role has no password.',
    sqlstate: '28P01',
  },
  password_expired: {
    category: 'auth_fail',
    description: 'Password authentication failed: the role password has expired (VALID UNTIL).',
    sqlstate: '28P01',
  },
  password_auth_unknown_role: {
    category: 'auth_fail',
    description:
      'Password authentication failed for a role that does not exist (the server hides that from the client).',
    sqlstate: '28P01',
  },
  scram_secret_invalid: {
    category: 'auth_fail',
    description: 'SCRAM authentication failed: the stored secret is not a valid SCRAM verifier (e.g. an md5 hash).',
    sqlstate: '28P01',
  },
  scram_exchange_failed: {
    category: 'auth_fail',
    description: 'The SCRAM exchange with the client failed (malformed or invalid SCRAM message).',
    sqlstate: '08P01',
  },
  md5_unusable_password: {
    category: 'auth_fail',
    description: 'md5 authentication failed: the stored password cannot be used with md5 (it is a SCRAM secret).',
    sqlstate: '28P01',
  },
  ident_auth_failed: { category: 'auth_fail', description: 'Ident authentication failed.', sqlstate: '28000' },
  peer_auth_failed: {
    category: 'auth_fail',
    description: 'Peer authentication failed: the OS user does not match the database user.',
    sqlstate: '28000',
  },
  peer_credentials_unavailable: {
    category: 'auth_fail',
    description: 'Peer authentication failed: the server could not read the peer credentials of the socket.',
    sqlstate: '28000',
  },
  cert_auth_failed: {
    category: 'auth_fail',
    description: 'Certificate authentication failed: the certificate CN does not map to the user.',
    sqlstate: '28000',
  },
  ldap_auth_failed: { category: 'auth_fail', description: 'LDAP authentication failed.', sqlstate: '28000' },
  radius_auth_failed: { category: 'auth_fail', description: 'RADIUS authentication failed.', sqlstate: '28000' },
  pam_auth_failed: { category: 'auth_fail', description: 'PAM authentication failed.', sqlstate: '28000' },
  gssapi_auth_failed: {
    category: 'auth_fail',
    description: 'GSSAPI / Kerberos authentication failed.',
    sqlstate: '28000',
  },
  sspi_auth_failed: { category: 'auth_fail', description: 'SSPI authentication failed.', sqlstate: '28000' },
  bsd_auth_failed: { category: 'auth_fail', description: 'BSD authentication failed.', sqlstate: '28000' },
  auth_failed_other: {
    category: 'auth_fail',
    description: 'Authentication failed with a method not named above.',
    sqlstate: '28000',
  },
  login_throttled: {
    category: 'auth_fail',
    description: 'Azure refused the login after too many failed attempts (throttling).',
    sqlstate: '28000',
  },
  login_not_permitted: {
    category: 'auth_fail',
    description: 'The role exists but has NOLOGIN.',
    sqlstate: '28000',
  },

  // tls_reject: the TLS handshake or the server's TLS policy refused the client.
  ssl_handshake_failed: {
    category: 'tls_reject',
    description: 'The TLS handshake failed for a reason not named below.',
    sqlstate: '08P01',
  },
  tls_unsupported_protocol: {
    category: 'tls_reject',
    description: 'The client offered a TLS/SSL version the server does not accept (e.g. TLS 1.0/1.1).',
    sqlstate: '08P01',
  },
  tls_no_shared_cipher: {
    category: 'tls_reject',
    description: 'Client and server have no cipher suite in common.',
    sqlstate: '08P01',
  },
  tls_certificate_error: {
    category: 'tls_reject',
    description: 'A certificate was refused during the handshake (unknown CA, bad or expired certificate).',
    sqlstate: '08P01',
  },
  tls_alert: {
    category: 'tls_reject',
    description: 'The client aborted the handshake with a TLS alert.',
    sqlstate: '08P01',
  },
  ssl_handshake_aborted: {
    category: 'tls_reject',
    description: 'The client closed or reset the connection in the middle of the TLS handshake.',
    sqlstate: '08P01',
  },
  non_tls_request: {
    category: 'tls_reject',
    description: 'The client sent something that is not TLS (e.g. plain HTTP) where a handshake was expected.',
    sqlstate: '08P01',
  },
  ssl_error_startup: {
    category: 'tls_reject',
    description: 'An SSL error occurred before the session was authorized.',
    sqlstate: '08P01',
  },
  tls_direct_without_alpn: {
    category: 'tls_reject',
    description: 'A direct TLS connection (sslnegotiation=direct, PostgreSQL 17+) without the ALPN extension PostgreSQL requires.',
    sqlstate: '08P01',
  },
  ssl_required: {
    category: 'tls_reject',
    description: 'The server requires TLS and the client connected without it (Azure "SSL connection is required").',
    sqlstate: '28000',
  },
  tls_version_too_low: {
    category: 'tls_reject',
    description: 'The TLS version is below the server minimum (Azure minimal TLS version).',
    sqlstate: '28000',
  },
  client_cert_required: {
    category: 'tls_reject',
    description: 'pg_hba.conf requires a client certificate and the client sent none.',
    sqlstate: '28000',
  },
  no_hba_entry_ssl_off_known_client: {
    category: 'tls_reject',
    description:
      'No pg_hba.conf entry for an unencrypted connection from a client this server has admitted before: the server requires TLS.',
    sqlstate: '28000',
  },
  hba_reject_ssl_off_known_client: {
    category: 'tls_reject',
    description: 'A pg_hba.conf reject line refused an unencrypted connection from a client admitted before.',
    sqlstate: '28000',
  },

  // limit_reached
  too_many_clients: {
    category: 'limit_reached',
    description: 'max_connections is exhausted ("sorry, too many clients already").',
    sqlstate: '53300',
  },
  reserved_slots: {
    category: 'limit_reached',
    description: 'Only the slots reserved for superusers / privileged roles remain.',
    sqlstate: '53300',
  },
  reserved_slots_azure: {
    category: 'limit_reached',
    description: 'Only the slots Azure reserves for azure_superuser remain.',
    sqlstate: '53300',
  },
  reserved_slots_replication: {
    category: 'limit_reached',
    description: 'Only the slots reserved for replication roles remain, or max_wal_senders is exhausted.',
    sqlstate: '53300',
  },
  role_connection_limit: {
    category: 'limit_reached',
    description: 'The role reached its CONNECTION LIMIT.',
    sqlstate: '53300',
  },
  database_connection_limit: {
    category: 'limit_reached',
    description: 'The database reached its CONNECTION LIMIT.',
    sqlstate: '53300',
  },
  fork_failed: {
    category: 'limit_reached',
    description: 'The postmaster could not fork a backend for the connection (process / memory limit).',
    sqlstate: '53000',
  },

  // transient: the server was not in a state to serve connections.
  starting_up: { category: 'transient', description: 'The server is starting up.', sqlstate: '57P03' },
  shutting_down: { category: 'transient', description: 'The server is shutting down.', sqlstate: '57P03' },
  recovery_mode: {
    category: 'transient',
    description: 'The server is in crash recovery.',
    sqlstate: '57P03',
  },
  not_yet_accepting: {
    category: 'transient',
    description: 'The server is in recovery and has not reached a consistent state yet.',
    sqlstate: '57P03',
  },
  not_accepting: {
    category: 'transient',
    description: 'The server does not accept connections (e.g. a standby with hot standby off).',
    sqlstate: '57P03',
  },
  admin_termination: {
    category: 'transient',
    description: 'The session was ended by an administrator command or a fast shutdown / failover.',
    sqlstate: '57P01',
  },
  crash_termination: {
    category: 'transient',
    description: 'The session was ended because another server process crashed.',
    sqlstate: '57P02',
  },
  recovery_conflict: {
    category: 'transient',
    description: 'The session on a standby was ended by a conflict with recovery.',
    sqlstate: '40001',
  },
  postmaster_exit: {
    category: 'transient',
    description: 'The session was ended because the postmaster exited unexpectedly.',
    sqlstate: '57P01',
  },

  // user_error: the client asked for something that does not exist or is not allowed.
  database_not_found: { category: 'user_error', description: 'The database does not exist.', sqlstate: '3D000' },
  role_not_found: { category: 'user_error', description: 'The role does not exist.', sqlstate: '28000' },
  no_connect_privilege: {
    category: 'user_error',
    description: 'The role lacks CONNECT privilege on the database.',
    sqlstate: '42501',
  },
  database_not_accepting_connections: {
    category: 'user_error',
    description: 'The database does not allow connections (datallowconn = false, or invalid).',
    sqlstate: '55000',
  },
  no_replication_privilege: {
    category: 'user_error',
    description: 'A replication (WAL sender) connection by a role without the REPLICATION attribute.',
    sqlstate: '42501',
  },
  no_user_name: {
    category: 'user_error',
    description: 'The startup packet named no user.',
    sqlstate: '28000',
  },
  invalid_username_format: {
    category: 'user_error',
    description: 'Azure Single Server: the user name is not in <username@servername> form.',
    sqlstate: '28000',
  },

  // network: the connection broke or the client spoke the protocol wrongly.
  incomplete_startup_packet: {
    category: 'network',
    description: 'The client opened TCP and closed it before sending a startup packet (often a health probe).',
    sqlstate: '08P01',
  },
  invalid_startup_packet: {
    category: 'network',
    description: 'The startup packet was malformed (invalid length, or no terminator as its last byte).',
    sqlstate: '08P01',
  },
  unencrypted_data_after_negotiation: {
    category: 'network',
    description:
      'Bytes arrived unencrypted after the client asked for TLS or GSSAPI encryption, before the handshake: a client bug or a man-in-the-middle injecting data.',
    sqlstate: '08P01',
  },
  unsupported_frontend_protocol: {
    category: 'network',
    description: 'The client speaks a frontend protocol version the server does not support.',
    sqlstate: '0A000',
  },
  invalid_frontend_message: {
    category: 'network',
    description: 'The client sent an invalid message type (protocol violation).',
    sqlstate: '08P01',
  },
  client_connection_reset: {
    category: 'network',
    description: 'The connection was reset by the client or a middlebox.',
    sqlstate: '08006',
  },
  client_connection_timeout: {
    category: 'network',
    description: 'The connection to the client timed out.',
    sqlstate: '08006',
  },
  client_recv_failed: {
    category: 'network',
    description: 'Receiving data from the client failed.',
    sqlstate: '08006',
  },
  client_send_failed: {
    category: 'network',
    description: 'Sending data to the client failed.',
    sqlstate: '08006',
  },
  client_connection_lost: {
    category: 'network',
    description: 'The server lost the connection to the client.',
    sqlstate: '08006',
  },
  connection_refused: {
    category: 'network',
    description: 'A connection was actively refused by the other side (Windows wording).',
    sqlstate: '08006',
  },
  unexpected_eof: {
    category: 'network',
    description: 'The client went away without a Terminate message.',
    sqlstate: '08006',
  },
  unexpected_eof_in_transaction: {
    category: 'network',
    description: 'The client went away with a transaction open.',
    sqlstate: '08006',
  },
  incomplete_message: {
    category: 'network',
    description: 'The connection ended in the middle of a protocol message from the client.',
    sqlstate: '08P01',
  },
  protocol_sync_lost: {
    category: 'network',
    description: 'The server lost track of the message stream (an error while a client message was half read) and closed the session.',
    sqlstate: '08P01',
  },
  authentication_timeout: {
    category: 'network',
    description: 'The client did not finish authentication within authentication_timeout.',
    sqlstate: '08P01',
  },
  ssl_error_in_session: {
    category: 'network',
    description: 'An SSL error broke an already authorized session.',
    sqlstate: '08P01',
  },
} as const satisfies Record<string, ReasonInfo>

export type Reason = keyof typeof CATALOG

/** Typed as a plain record so consumers can look up any stored reason string. */
export const REASONS: Record<string, ReasonInfo> = CATALOG
