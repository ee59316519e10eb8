import type { ConnectionEvent, LogRecord, Outcome } from '@connrca/contracts'
import { BoundedMap } from './bounded-map.js'
import { applicationName, hbaLineOf, keyValue, portValue, quotedAfter, serverTlsOf, tlsProtocol } from './extract.js'
import { detailToEnglish, sqlstateReason, toEnglish } from './localized.js'
import { REASONS, type Reason } from './reasons.js'
import { isSqlstateChar, mayClassify } from './relevance.js'
import { type Match, matchFailure, matchFatalFallback, passwordReason } from './rules.js'

export interface ClassifierOptions {
  /** Client addresses remembered per server as "admitted before" (LRU). Default 200 000. */
  historySize?: number
  /** Backend pids remembered per server (address, user, session state). Default 100 000. */
  pidMapSize?: number
  /**
   * After a counted failure, further failures of the same backend pid within this window are the
   * same attempt (e.g. `could not send data` + `connection to client lost`). Default 60 000 ms.
   */
  samePidWindowMs?: number
}

/** What the classifier knows about one backend process, learnt from earlier lines. */
interface PidState {
  ip: string | undefined
  port: number | undefined
  user: string | undefined
  database: string | undefined
  application: string | undefined
  /** `connection authorized` (or `authenticated`) seen: later SSL errors break a session, not a startup. */
  authorized: boolean
  /** Event time of the authorized event emitted for this session, or -Infinity. */
  authorizedAt: number
  /** Event time of the counted failure of this session, or -Infinity. */
  failedAt: number
  /** Reason learnt from a LOG line that precedes the FATAL of the same attempt. */
  pending: Reason | undefined
}

interface ServerState {
  pids: BoundedMap<number, PidState>
  /** client ip -> 1; ips this server admitted (any `connection authorized`). */
  admitted: BoundedMap<string, 1>
  /** Newest event time seen for this server's pids. */
  latest: number
  /** `ip\0user\0database` -> time of its last hba deny of an encrypted attempt (see PREFER_RETRY_MS). */
  tlsDenies: BoundedMap<string, number>
}

/** LOG lines that explain a FATAL that follows for the same pid; the FATAL is the one counted. */
const PRECURSORS = new Set<Reason>(['peer_credentials_unavailable', 'pam_auth_failed'])

const SSL_OFF = /* both PG < 12 and PG >= 12 wordings */ [', SSL off', ', no encryption']
const SSL_ON = [', SSL on', ', SSL encryption']

/**
 * libpq's default `sslmode=prefer` retries without TLS at once when a TLS attempt fails: an
 * unencrypted deny of the same client, user and database this soon after an encrypted one is
 * that retry of a firewall deny, not the server requiring TLS. Not kept in snapshots (a restart
 * between the two lines of one retry is rare and costs one reason).
 */
const PREFER_RETRY_MS = 1000

export class Classifier {
  private readonly servers = new Map<string, ServerState>()
  private readonly historySize: number
  private readonly pidMapSize: number
  private readonly samePidWindowMs: number

  constructor(opts: ClassifierOptions = {}) {
    this.historySize = opts.historySize ?? 200_000
    this.pidMapSize = opts.pidMapSize ?? 100_000
    this.samePidWindowMs = opts.samePidWindowMs ?? 60_000
  }

  /**
   * The per-server memory as JSON-safe data. A restart that resumes reading in the middle of an
   * attempt (after `connection received`, before its FATAL) needs it to name the client.
   */
  snapshot(): ClassifierSnapshot {
    const servers: ClassifierSnapshot['servers'] = []
    for (const [name, s] of this.servers) {
      const pids: SnapshotPid[] = []
      for (const [pid, p] of s.pids.entries()) {
        // Ended backends are dead weight (a server under a password-guessing attack leaves
        // 100 000 of them: 7 MB per checkpoint). The margin covers records of one pid that
        // arrive up to a window out of order.
        if (this.ended(p, s.latest - this.samePidWindowMs)) continue
        pids.push([
          pid,
          p.ip ?? null,
          p.port ?? null,
          p.user ?? null,
          p.database ?? null,
          p.application ?? null,
          p.authorized,
          finite(p.authorizedAt),
          finite(p.failedAt),
          p.pending ?? null,
        ])
      }
      servers.push({ name, pids, admitted: [...s.admitted.entries()].map(([ip]) => ip) })
    }
    return { format: 'connrca.classifier.v1', servers }
  }

  static restore(opts: ClassifierOptions, state: unknown): Classifier {
    const snap = state as ClassifierSnapshot | undefined
    if (snap?.format !== 'connrca.classifier.v1' || !Array.isArray(snap.servers)) {
      throw new Error('classifier: cannot restore checkpoint: not a connrca.classifier.v1 snapshot')
    }
    const c = new Classifier(opts)
    for (const { name, pids, admitted } of snap.servers) {
      const s = c.server(name)
      for (const [pid, ip, port, user, database, application, authorized, authorizedAt, failedAt, pending] of pids) {
        if (pending !== null && !(pending in REASONS)) {
          throw new Error(`classifier: cannot restore checkpoint: unknown reason "${pending}"`)
        }
        s.pids.set(pid, {
          ip: ip ?? undefined,
          port: port ?? undefined,
          user: user ?? undefined,
          database: database ?? undefined,
          application: application ?? undefined,
          authorized,
          authorizedAt: authorizedAt ?? Number.NEGATIVE_INFINITY,
          failedAt: failedAt ?? Number.NEGATIVE_INFINITY,
          pending: pending ?? undefined,
        })
      }
      for (const ip of admitted) s.admitted.set(ip, 1)
    }
    return c
  }

  /** undefined for records that are not about connections */
  classify(r: LogRecord): ConnectionEvent | undefined {
    const sev = r.severity
    let msg = r.message
    // the parsers' prefilter: what it rejects is never classified, so skipping it loses nothing
    if (msg.length < 6 || !mayClassify(sev, msg, 0, r.sqlstate)) return undefined
    // log_error_verbosity=verbose puts the SQLSTATE in front of the text: `08P01: incomplete ...`
    if (msg.charCodeAt(5) === 58 && msg.charCodeAt(6) === 32 && isSqlstateChar(msg.charCodeAt(0))) {
      msg = msg.slice(7)
    }
    const ev = this.classifyText(r, msg)
    if (ev !== undefined || (sev !== 'LOG' && sev !== 'FATAL' && sev !== 'WARNING' && sev !== 'ERROR')) return ev
    // lc_messages in another language: the English text of a known translation, else the SQLSTATE
    const english = toEnglish(msg)
    if (english !== undefined) {
      const e = this.classifyText({ ...r, message: english, detail: detailToEnglish(r.detail) }, english)
      if (e !== undefined) e.message = msg
      return e
    }
    if (sev === 'FATAL') {
      const reason = sqlstateReason(r.sqlstate)
      if (reason !== undefined) return this.failure(r, msg, sev, reason)
    }
    return undefined
  }

  private classifyText(r: LogRecord, msg: string): ConnectionEvent | undefined {
    const sev = r.severity
    const c0 = msg.charCodeAt(0)

    if (sev === 'LOG') {
      switch (c0) {
        case 99: // c: connection received/authorized/authenticated, could not ...
          if (msg.charCodeAt(1) !== 111) return undefined // checkpoint ...
          if (msg.startsWith('connection ')) {
            if (msg.startsWith('received:', 11)) return this.received(r, msg)
            if (msg.startsWith('authorized:', 11)) return this.authorized(r, msg, false)
            if (msg.startsWith('authenticated:', 11)) return this.authorized(r, msg, true)
          }
          return this.failure(r, msg, sev)
        case 100: // d: disconnection (not duration)
          if (msg.charCodeAt(1) === 105 && msg.startsWith('disconnection:')) return this.closed(r, msg)
          return undefined
        case 114: // r
          if (msg.startsWith('replication connection authorized:')) return this.authorized(r, msg, false)
          return msg.startsWith('received ') ? this.failure(r, msg, sev) : undefined // direct SSL without ALPN (17+)
        case 102: // failed to send SSL/GSSAPI negotiation response
        case 101: // expected GSS response (logged, not sent, since 14)
          return this.failure(r, msg, sev)
        case 105: // incomplete / invalid ... startup packet
        case 117: // unexpected EOF, unsupported frontend protocol
        case 83: // SSL error
        case 112: // pam_authenticate failed
        case 65: // Windows socket texts
        case 78:
          return this.failure(r, msg, sev)
        default:
          return undefined
      }
    }
    if (sev === 'FATAL') return this.failure(r, msg, sev)
    // PostgreSQL 9.x-13 end sessions at WARNING when another backend crashed (FATAL since 14)
    if (sev === 'WARNING' && c0 === 116 && msg.startsWith('terminating connection because of crash')) {
      return this.failure(r, msg, sev)
    }
    if (sev === 'ERROR' && (c0 === 83 || c0 === 99)) {
      // SSL failures are sometimes raised at ERROR; nothing else at ERROR is about connecting
      // (`database "x" does not exist` at ERROR is a DROP DATABASE, not a login).
      const m = matchFailure(msg)
      if (m === '@ssl_error' || (m !== undefined && !m.startsWith('@') && REASONS[m].category === 'tls_reject')) {
        return this.failure(r, msg, sev)
      }
    }
    return undefined
  }

  private server(name: string): ServerState {
    let s = this.servers.get(name)
    if (!s) {
      s = {
        pids: new BoundedMap(this.pidMapSize),
        admitted: new BoundedMap(this.historySize),
        latest: Number.NEGATIVE_INFINITY,
        tlsDenies: new BoundedMap(1024),
      }
      this.servers.set(name, s)
    }
    return s
  }

  private pidState(s: ServerState, r: LogRecord, create: boolean): PidState | undefined {
    if (r.pid === undefined) return undefined
    if (r.time > s.latest) s.latest = r.time
    let st = s.pids.get(r.pid)
    // A counted failure ended that backend: outside the same-attempt window the pid belongs to a
    // new process, and what the old one said (address, user, pending reason) no longer applies.
    if (st !== undefined && this.ended(st, r.time)) st = undefined
    if (!st && create) {
      st = newPidState(r.clientIp, r.clientPort)
      s.pids.set(r.pid, st)
    }
    return st
  }

  private preferRetry(s: ServerState, ip: string, msg: string, time: number): boolean {
    const at = s.tlsDenies.get(denyKey(ip, msg))
    return at !== undefined && Math.abs(time - at) <= PREFER_RETRY_MS
  }

  private ended(st: PidState, time: number): boolean {
    return (
      !st.authorized && st.failedAt !== Number.NEGATIVE_INFINITY && Math.abs(time - st.failedAt) > this.samePidWindowMs
    )
  }

  private received(r: LogRecord, msg: string): ConnectionEvent {
    const host = keyValue(msg, 'host=', 20)
    const ip = r.clientIp ?? host
    const port = r.clientPort ?? portValue(msg, 'port=', 20)
    if (r.pid !== undefined) this.server(r.server).pids.set(r.pid, newPidState(ip, port))
    return this.event(r, msg, 'received', undefined, undefined, r.user, r.database, ip, port, undefined)
  }

  /**
   * `connection authorized:` / `replication connection authorized:`, and PG14+'s
   * `connection authenticated:` which precedes `connection authorized` in the same session: the
   * first of the two is emitted, the second only updates what is known about the pid, so one
   * session yields one authorized event.
   */
  private authorized(r: LogRecord, msg: string, authenticated: boolean): ConnectionEvent | undefined {
    const s = this.server(r.server)
    const st = this.pidState(s, r, true)
    const user = r.user ?? (authenticated ? quotedAfter(msg, 'identity=') : keyValue(msg, 'user='))
    const database = r.database ?? (authenticated ? undefined : keyValue(msg, 'database='))
    const application = r.application ?? (authenticated ? undefined : applicationName(msg))
    const ip = r.clientIp ?? st?.ip
    const port = r.clientPort ?? st?.port
    if (ip !== undefined) s.admitted.touch(ip, 1)
    let alreadyEmitted = false
    if (st) {
      // either order: some exports (CloudNativePG) list records newest first
      alreadyEmitted = Math.abs(r.time - st.authorizedAt) <= this.samePidWindowMs
      st.authorized = true
      if (!alreadyEmitted) st.authorizedAt = r.time
      if (user !== undefined) st.user = user
      if (database !== undefined) st.database = database
      if (application !== undefined) st.application = application
    }
    if (alreadyEmitted) return undefined
    const tls = authenticated ? undefined : tlsProtocol(msg)
    return this.event(r, msg, 'authorized', undefined, undefined, user, database, ip, port, tls, application)
  }

  private closed(r: LogRecord, msg: string): ConnectionEvent {
    const s = this.server(r.server)
    const st = r.pid === undefined ? undefined : s.pids.get(r.pid)
    if (st) s.pids.delete(r.pid!)
    const user = r.user ?? keyValue(msg, 'user=') ?? st?.user
    const database = r.database ?? keyValue(msg, 'database=') ?? st?.database
    const ip = r.clientIp ?? keyValue(msg, 'host=') ?? st?.ip
    const port = r.clientPort ?? portValue(msg, 'port=') ?? st?.port
    return this.event(r, msg, 'closed', undefined, undefined, user, database, ip, port, undefined, st?.application)
  }

  private failure(r: LogRecord, msg: string, sev: string, known?: Reason): ConnectionEvent | undefined {
    let m: Match | undefined = known ?? matchFailure(msg)
    if (m === undefined && sev === 'FATAL') m = matchFatalFallback(msg)
    if (m === undefined) return undefined

    const s = this.server(r.server)
    // a failure without an earlier `connection received` still opens a pid entry, so that the
    // lines that follow it (e.g. `could not send data to client`) are seen as the same attempt
    const st = this.pidState(s, r, true)
    const ip = r.clientIp ?? quotedAfter(msg, 'host ') ?? st?.ip

    let reason: Reason
    switch (m) {
      case '@hba':
      case '@hba_reject': {
        const sslOff = msg.endsWith(SSL_OFF[0]) || msg.endsWith(SSL_OFF[1])
        const replication = msg.includes('replication connection')
        if (!sslOff && ip !== undefined && (msg.endsWith(SSL_ON[0]) || msg.endsWith(SSL_ON[1]))) {
          s.tlsDenies.set(denyKey(ip, msg), r.time)
        }
        if (sslOff && !replication && ip !== undefined && s.admitted.has(ip) && !this.preferRetry(s, ip, msg, r.time)) {
          reason = m === '@hba' ? 'no_hba_entry_ssl_off_known_client' : 'hba_reject_ssl_off_known_client'
        } else if (m === '@hba') {
          reason = replication ? 'no_hba_entry_replication' : 'no_hba_entry'
        } else {
          reason = 'hba_reject'
        }
        break
      }
      case '@ssl_error':
        reason = st?.authorized ? 'ssl_error_in_session' : 'ssl_error_startup'
        break
      case '@password':
        reason = st?.pending ?? passwordReason(r.detail)
        break
      default:
        if (m.startsWith('@terminate:')) {
          // background workers (logical replication launcher, ...) get the same FATAL on shutdown
          if (r.backendType !== undefined && r.backendType !== 'client backend' && r.backendType !== 'walsender') {
            return undefined
          }
          if (r.backendType === undefined && !st && !r.user && !r.database && !r.clientIp) return undefined
          reason = m.slice(11) as Reason
        } else {
          reason = m as Reason
        }
    }

    if (st) {
      if (sev === 'LOG' && PRECURSORS.has(reason)) {
        st.pending = reason
        return undefined
      }
      if (st.pending !== undefined && REASONS[reason].category === 'auth_fail') reason = st.pending
      // one attempt, several lines: count the first
      if (Math.abs(r.time - st.failedAt) <= this.samePidWindowMs) return undefined
      st.failedAt = r.time
    } else if (sev === 'LOG' && PRECURSORS.has(reason)) {
      return undefined
    }

    const info = REASONS[reason]
    const user = r.user ?? quotedAfter(msg, 'user ') ?? quotedAfter(msg, 'role ') ?? st?.user
    const database = r.database ?? quotedAfter(msg, 'database ') ?? st?.database
    const port = r.clientPort ?? (ip === st?.ip ? st?.port : undefined)
    const tls = tlsProtocol(msg)
    const sqlstate = r.sqlstate && r.sqlstate !== '00000' ? r.sqlstate : info.sqlstate
    const e = this.event(r, msg, 'failed', reason, sqlstate, user, database, ip, port, tls, st?.application)
    // the diagnosis quotes these: which pg_hba.conf line matched (DETAIL), which TLS versions the server takes (HINT)
    if (r.detail) {
      const hba = hbaLineOf(r.detail)
      if (hba) e.hbaLine = hba
    }
    if (r.hint) {
      const accepted = serverTlsOf(r.hint)
      if (accepted) e.serverTls = accepted
    }
    return e
  }

  private event(
    r: LogRecord,
    msg: string,
    outcome: Outcome,
    reason: Reason | undefined,
    sqlstate: string | undefined,
    user: string | undefined,
    database: string | undefined,
    clientIp: string | undefined,
    clientPort: number | undefined,
    tlsProtocol: string | undefined,
    application?: string,
  ): ConnectionEvent {
    return {
      id: r.id,
      server: r.server,
      time: r.time,
      outcome,
      category: reason === undefined ? undefined : REASONS[reason].category,
      reason,
      sqlstate: sqlstate ?? (r.sqlstate && r.sqlstate !== '00000' ? r.sqlstate : undefined),
      user,
      database,
      clientIp,
      clientPort,
      application: r.application ?? application,
      tlsProtocol,
      pid: r.pid,
      message: msg,
      source: r.source,
    }
  }
}

function newPidState(ip: string | undefined, port: number | undefined): PidState {
  return {
    ip,
    port,
    user: undefined,
    database: undefined,
    application: undefined,
    authorized: false,
    authorizedAt: Number.NEGATIVE_INFINITY,
    failedAt: Number.NEGATIVE_INFINITY,
    pending: undefined,
  }
}

/** Compact rows: a snapshot can hold 100 000 pids per server. */
type SnapshotPid = [
  pid: number,
  ip: string | null,
  port: number | null,
  user: string | null,
  database: string | null,
  application: string | null,
  authorized: boolean,
  authorizedAt: number | null,
  failedAt: number | null,
  pending: Reason | null,
]

export interface ClassifierSnapshot {
  format: 'connrca.classifier.v1'
  servers: { name: string; pids: SnapshotPid[]; admitted: string[] }[]
}

/** JSON has no -Infinity. */
function finite(t: number): number | null {
  return Number.isFinite(t) ? t : null
}

/** `ip\0user\0database` of an hba deny message. */
function denyKey(ip: string, msg: string): string {
  return `${ip}\0${quotedAfter(msg, 'user ') ?? ''}\0${quotedAfter(msg, 'database ') ?? ''}`
}
