/**
 * Servers with a non-English `lc_messages` translate every connection message, the outcome lines
 * (`connection received`) included. The rules are written against PostgreSQL's English texts, so a
 * translated message is first turned back into the English one: each entry pairs a message of
 * PostgreSQL's own catalog (msgid) with its translation (msgstr), `%s` standing for the values in
 * both (the translations below keep the order of the values). Only the messages the classifier
 * reads are listed. Taken from the German catalog of PostgreSQL 15 (po/de.po, shipped in Debian's
 * postgresql-15 package); wordings of other releases that differ are listed too.
 *
 * A message of another language, or one missing here, still counts when its SQLSTATE alone
 * names the failure (sqlstateReason).
 */
import type { Reason } from './reasons.js'

type Pair = [translated: string, english: string]

const DE: Pair[] = [
  // outcomes
  ['Verbindung empfangen: Host=%s Port=%s', 'connection received: host=%s port=%s'],
  ['Verbindung empfangen: Host=%s', 'connection received: host=%s'],
  ['Verbindung authentifiziert: Identität=»%s« Methode=%s', 'connection authenticated: identity="%s" method=%s'],
  ['Verbindung autorisiert: Benutzer=%s', 'connection authorized: user=%s'],
  ['Replikationsverbindung autorisiert: Benutzer=%s', 'replication connection authorized: user=%s'],
  ['Verbindungsende: Sitzungszeit: %s', 'disconnection: session time: %s'],
  // firewall_deny / tls_reject by history
  [
    'kein pg_hba.conf-Eintrag für Replikationsverbindung von Host »%s«, Benutzer »%s«, %s',
    'no pg_hba.conf entry for replication connection from host "%s", user "%s", %s',
  ],
  [
    'kein pg_hba.conf-Eintrag für Host »%s«, Benutzer »%s«, Datenbank »%s«, %s',
    'no pg_hba.conf entry for host "%s", user "%s", database "%s", %s',
  ],
  [
    'pg_hba.conf lehnt Replikationsverbindung ab für Host »%s«, Benutzer »%s«, %s',
    'pg_hba.conf rejects replication connection for host "%s", user "%s", %s',
  ],
  [
    'pg_hba.conf lehnt Verbindung ab für Host »%s«, Benutzer »%s«, Datenbank »%s«, %s',
    'pg_hba.conf rejects connection for host "%s", user "%s", database "%s", %s',
  ],
  // auth_fail
  ['Passwort-Authentifizierung für Benutzer »%s« fehlgeschlagen', 'password authentication failed for user "%s"'],
  ['Ident-Authentifizierung für Benutzer »%s« fehlgeschlagen', 'Ident authentication failed for user "%s"'],
  ['Peer-Authentifizierung für Benutzer »%s« fehlgeschlagen', 'Peer authentication failed for user "%s"'],
  ['Zertifikatauthentifizierung für Benutzer »%s« fehlgeschlagen', 'certificate authentication failed for user "%s"'],
  ['pam_authenticate fehlgeschlagen: %s', 'pam_authenticate failed: %s'],
  ['konnte Credentials von Gegenstelle nicht ermitteln: %s', 'could not get peer credentials: %s'],
  ['fehlerhafte SCRAM-Nachricht', 'malformed SCRAM message'],
  ['Rolle »%s« hat keine Berechtigung zum Einloggen', 'role "%s" is not permitted to log in'],
  // tls_reject
  ['konnte SSL-Verbindung nicht annehmen: EOF entdeckt', 'could not accept SSL connection: EOF detected'],
  ['konnte SSL-Verbindung nicht annehmen: %s', 'could not accept SSL connection: %s'],
  ['SSL-Fehler: %s', 'SSL error: %s'],
  ['Verbindung erfordert ein gültiges Client-Zertifikat', 'connection requires a valid client certificate'],
  // limit_reached
  ['tut mir leid, schon zu viele Verbindungen', 'sorry, too many clients already'],
  ['zu viele Verbindungen von Rolle »%s«', 'too many connections for role "%s"'],
  ['zu viele Verbindungen für Datenbank »%s«', 'too many connections for database "%s"'],
  [
    'die verbleibenden Verbindungen sind für Superuser auf Nicht-Replikationsverbindungen reserviert',
    'remaining connection slots are reserved for non-replication superuser connections',
  ],
  [
    'Anzahl angeforderter Standby-Verbindungen überschreitet max_wal_senders %s',
    'number of requested standby connections exceeds max_wal_senders %s',
  ],
  [
    'konnte neuen Prozess für Verbindung nicht starten (fork-Fehler): %s',
    'could not fork new process for connection: %s',
  ],
  // transient
  ['das Datenbanksystem startet', 'the database system is starting up'],
  ['das Datenbanksystem fährt herunter', 'the database system is shutting down'],
  ['das Datenbanksystem ist im Wiederherstellungsmodus', 'the database system is in recovery mode'],
  ['das Datenbanksystem nimmt noch keine Verbindungen an', 'the database system is not yet accepting connections'],
  ['das Datenbanksystem nimmt keine Verbindungen an', 'the database system is not accepting connections'],
  [
    'Verbindung wird abgebrochen aufgrund von Anweisung des Administrators',
    'terminating connection due to administrator command',
  ],
  [
    'Verbindung wird abgebrochen wegen Absturz eines anderen Serverprozesses',
    'terminating connection because of crash of another server process',
  ],
  [
    'Verbindung wird abgebrochen wegen Konflikt mit der Wiederherstellung',
    'terminating connection due to conflict with recovery',
  ],
  [
    'Verbindung wird abgebrochen wegen unerwartetem Ende des Postmasters',
    'terminating connection due to unexpected postmaster exit',
  ],
  [
    'Verbindung wird abgebrochen, weil Protokollsynchronisierung verloren wurde',
    'terminating connection because protocol synchronization was lost',
  ],
  // user_error
  ['Datenbank »%s« existiert nicht', 'database "%s" does not exist'],
  ['Rolle »%s« existiert nicht', 'role "%s" does not exist'],
  ['keine Berechtigung für Datenbank »%s«', 'permission denied for database "%s"'],
  ['Datenbank »%s« akzeptiert gegenwärtig keine Verbindungen', 'database "%s" is not currently accepting connections'],
  ['mit ungültiger Datenbank »%s« kann nicht verbunden werden', 'cannot connect to invalid database "%s"'],
  // network
  ['unvollständiges Startpaket', 'incomplete startup packet'],
  ['ungültige Länge des Startpakets', 'invalid length of startup packet'],
  [
    'nicht unterstütztes Frontend-Protokoll %s: Server unterstützt %s',
    'unsupported frontend protocol %s: server supports %s',
  ],
  ['ungültiger Frontend-Message-Typ %s', 'invalid frontend message type %s'],
  ['Passwort-Antwort erwartet, Message-Typ %s empfangen', 'expected password response, got message type %s'],
  ['konnte Daten vom Client nicht empfangen: %s', 'could not receive data from client: %s'],
  ['konnte Daten nicht an den Client senden: %s', 'could not send data to client: %s'],
  ['Verbindung zum Client wurde verloren', 'connection to client lost'],
  [
    'unerwartetes EOF auf Client-Verbindung mit einer offenen Transaktion',
    'unexpected EOF on client connection with an open transaction',
  ],
  ['unvollständige Message vom Client', 'incomplete message from client'],
  ['storniere Authentifizierung wegen Zeitüberschreitung', 'canceling authentication due to timeout'],
]

/** DETAIL texts that refine a reason, and the words inside messages the rules and extractors read. */
const DE_DETAIL: Pair[] = [
  ['Rolle »%s« existiert nicht.', 'Role "%s" does not exist.'],
  ['Passwort stimmt nicht überein für Benutzer »%s«.', 'Password does not match for user "%s".'],
  ['Benutzer »%s« hat kein Passwort zugewiesen.', 'User "%s" has no password assigned.'],
  ['Benutzer »%s« hat ein abgelaufenes Passwort.', 'User "%s" has an expired password.'],
]

/** Words inside a message after the template's values (`SSL an (Protokoll=…)`, `Datenbank=…`). */
const DE_WORDS: Pair[] = [
  [' Datenbank=', ' database='],
  [' Benutzer=', ' user='],
  [' Host=', ' host='],
  [' SSL an (Protokoll=', ' SSL enabled (protocol='],
  ['keine Verschlüsselung', 'no encryption'],
  ['SSL-Verschlüsselung', 'SSL encryption'],
  ['GSS-Verschlüsselung', 'GSS encryption'],
  // the OS error texts (%m) come from glibc's German catalog
  ['Die Verbindung wurde vom Kommunikationspartner zurückgesetzt', 'Connection reset by peer'],
  ['Die Wartezeit für die Verbindung ist abgelaufen', 'Connection timed out'],
  ['Datenübergabe unterbrochen (broken pipe)', 'Broken pipe'],
]

interface Template {
  parts: string[]
  english: string[]
}

function compile(pairs: Pair[]): Map<number, Template[]> {
  const byFirst = new Map<number, Template[]>()
  for (const [translated, english] of pairs) {
    const t = { parts: translated.split('%s'), english: english.split('%s') }
    if (t.parts.length !== t.english.length)
      throw new Error(`localized: "${translated}" and "${english}" differ in values`)
    const c = translated.charCodeAt(0)
    byFirst.set(c, [...(byFirst.get(c) ?? []), t])
  }
  return byFirst
}

const MESSAGES = compile(DE)
const DETAILS = compile(DE_DETAIL)

/**
 * Could the message at `text[start]` be one of the translated wordings? True when it begins with
 * the literal start of one (a superset of `toEnglish` finding it). Runs on every line the English
 * prefilter rejects (`duration: …` starts like `das Datenbanksystem …`), so it compares in place:
 * no slice, no rendering.
 */
export function mayBeLocalized(text: string, start: number): boolean {
  const starts = STARTS.get(startKey(text.charCodeAt(start), text.charCodeAt(start + 1)))
  if (starts === undefined) return false
  for (const lit of starts) if (text.startsWith(lit, start)) return true
  return false
}

/** Whether a translated message starts with these two characters (mayBeLocalized's first step). */
export function mayBeLocalizedStart(c0: number, c1: number): boolean {
  return STARTS.has(startKey(c0, c1))
}

const startKey = (c0: number, c1: number) => c0 * 65536 + c1

/**
 * The translated messages' literal starts by their first two characters: five German texts start
 * with "d", and a `duration:` line (most of what the prefilter rejects) must not try them all
 * (measured: 45 → 12 ns per line).
 */
const STARTS = new Map<number, string[]>()
for (const templates of MESSAGES.values())
  for (const { parts } of templates) {
    // a text starting with a value (`%s …`) could begin with anything: no two-character key exists
    if (parts[0].length < 2) throw new Error(`localized: "${parts.join('%s')}" starts with a value`)
    const key = startKey(parts[0].charCodeAt(0), parts[0].charCodeAt(1))
    STARTS.set(key, [...(STARTS.get(key) ?? []), parts[0]])
  }

/**
 * The English text of a translated message, or undefined when it is not one of the listed ones.
 * The dispatch on the first character keeps English lines (most of a log) to one Map lookup.
 */
export function toEnglish(msg: string): string | undefined {
  return render(MESSAGES, msg, true)
}

/** The DETAIL with its first sentence in English when it is a listed one; the rest is kept. */
export function detailToEnglish(detail: string | undefined): string | undefined {
  if (detail === undefined) return undefined
  return render(DETAILS, detail, false) ?? detail
}

function render(table: Map<number, Template[]>, msg: string, words: boolean): string | undefined {
  const candidates = table.get(msg.charCodeAt(0))
  if (!candidates) return undefined
  for (const t of candidates) {
    const out = fill(t, msg)
    if (out === undefined) continue
    if (!words) return out
    let s = out
    for (const [from, to] of DE_WORDS) if (s.includes(from)) s = s.replaceAll(from, to)
    return s
  }
  return undefined
}

/** Matches the literal parts in order; the values between them go into the English parts. */
function fill(t: Template, msg: string): string | undefined {
  if (!msg.startsWith(t.parts[0])) return undefined
  let pos = t.parts[0].length
  let out = t.english[0]
  for (let k = 1; k < t.parts.length; k++) {
    const lit = t.parts[k]
    // the last value runs to the end of the message when nothing follows it in the template
    const end = lit === '' && k === t.parts.length - 1 ? msg.length : msg.indexOf(lit, pos)
    if (end < 0) return undefined
    out += msg.slice(pos, end) + t.english[k]
    pos = end + lit.length
  }
  return out + msg.slice(pos)
}

/**
 * Failures the SQLSTATE names on its own, whatever the language: a last resort for FATAL records
 * of a language (or a wording) not listed above. Ambiguous codes (28000: firewall, role, NOLOGIN,
 * TLS; 53300: four limits; 57P03: starting, stopping, recovering) are left out rather than guessed.
 */
export function sqlstateReason(sqlstate: string | undefined): Reason | undefined {
  switch (sqlstate) {
    case '3D000':
      return 'database_not_found'
    case '42501':
      return 'no_connect_privilege'
    case '28P01':
      return 'password_auth_failed'
    case '0A000':
      return 'unsupported_frontend_protocol'
  }
  return undefined
}
