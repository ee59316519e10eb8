import { describe, expect, it } from 'vitest'
import { Classifier, mayClassify } from '../src/index.js'
import { rec } from './helpers.js'

// Texts as PostgreSQL 15 with lc_messages = de_DE.UTF-8 wrote them (test/realpg), with their SQLSTATEs.
const GERMAN: [severity: 'LOG' | 'FATAL' | 'WARNING', sqlstate: string, message: string, reason: string, detail?: string][] = [
  ['FATAL', '28P01', 'Passwort-Authentifizierung für Benutzer »alice« fehlgeschlagen', 'password_auth_failed', 'Verbindung stimmte mit pg_hba.conf-Zeile 5 überein: »host all all 127.0.0.3/32 scram-sha-256«'],
  ['FATAL', '28P01', 'Passwort-Authentifizierung für Benutzer »mallory« fehlgeschlagen', 'password_auth_unknown_role', 'Rolle »mallory« existiert nicht.\nVerbindung stimmte mit pg_hba.conf-Zeile 5 überein: »host all all 127.0.0.3/32 scram-sha-256«'],
  ['FATAL', '28P01', 'Passwort-Authentifizierung für Benutzer »app« fehlgeschlagen', 'password_mismatch', 'Passwort stimmt nicht überein für Benutzer »app«.'],
  ['FATAL', '28000', 'Rolle »locked« hat keine Berechtigung zum Einloggen', 'login_not_permitted'],
  ['FATAL', '28000', 'kein pg_hba.conf-Eintrag für Host »127.0.0.6«, Benutzer »alice«, Datenbank »shop«, keine Verschlüsselung', 'no_hba_entry'],
  ['FATAL', '28000', 'pg_hba.conf lehnt Verbindung ab für Host »127.0.0.5«, Benutzer »alice«, Datenbank »shop«, keine Verschlüsselung', 'hba_reject'],
  ['LOG', '08P01', 'konnte SSL-Verbindung nicht annehmen: unsupported protocol', 'tls_unsupported_protocol'],
  ['LOG', '08P01', 'konnte SSL-Verbindung nicht annehmen: tlsv1 alert unknown ca', 'tls_certificate_error'],
  ['FATAL', '28000', 'Rolle »nobody« existiert nicht', 'role_not_found'],
  ['FATAL', '3D000', 'Datenbank »nosuchdb« existiert nicht', 'database_not_found'],
  ['FATAL', '42501', 'keine Berechtigung für Datenbank »private«', 'no_connect_privilege', 'Benutzer hat das CONNECT-Privileg nicht.'],
  ['FATAL', '53300', 'zu viele Verbindungen von Rolle »limited«', 'role_connection_limit'],
  ['FATAL', '53300', 'zu viele Verbindungen für Datenbank »busy«', 'database_connection_limit'],
  ['FATAL', '53300', 'die verbleibenden Verbindungen sind für Superuser auf Nicht-Replikationsverbindungen reserviert', 'reserved_slots'],
  ['FATAL', '53300', 'tut mir leid, schon zu viele Verbindungen', 'too_many_clients'],
  ['LOG', '08P01', 'unvollständiges Startpaket', 'incomplete_startup_packet'],
  ['LOG', '08P01', 'ungültige Länge des Startpakets', 'invalid_startup_packet'],
  ['FATAL', '0A000', 'nicht unterstütztes Frontend-Protokoll 4.0: Server unterstützt 3.0 bis 3.0', 'unsupported_frontend_protocol'],
  ['LOG', '08006', 'unerwartetes EOF auf Client-Verbindung mit einer offenen Transaktion', 'unexpected_eof_in_transaction'],
  ['LOG', '08006', 'konnte Daten vom Client nicht empfangen: Die Verbindung wurde vom Kommunikationspartner zurückgesetzt', 'client_connection_reset'],
  ['LOG', '08P01', 'unvollständige Message vom Client', 'incomplete_message'],
  ['FATAL', '57P01', 'Verbindung wird abgebrochen aufgrund von Anweisung des Administrators', 'admin_termination'],
  ['FATAL', '57P03', 'das Datenbanksystem fährt herunter', 'shutting_down'],
  ['WARNING', '57P02', 'Verbindung wird abgebrochen wegen Absturz eines anderen Serverprozesses', 'crash_termination'],
]

describe('German server messages (lc_messages = de_DE)', () => {
  it.each(GERMAN)('%s %s %s -> %s', (severity, sqlstate, message, reason, detail) => {
    const ev = new Classifier().classify(rec(severity, message, { sqlstate, detail, user: 'app' }))
    expect(ev).toMatchObject({ outcome: 'failed', reason, sqlstate, message })
  })

  it('outcomes, the client address of `Verbindung empfangen`, TLS, and the history rule', () => {
    const c = new Classifier()
    const rx = c.classify(rec('LOG', 'Verbindung empfangen: Host=127.0.0.2 Port=38843', { pid: 1 }))
    expect(rx).toMatchObject({ outcome: 'received', clientIp: '127.0.0.2', clientPort: 38843 })
    expect(c.classify(rec('LOG', 'Verbindung authentifiziert: Identität=»alice« Methode=scram-sha-256 (/x/pg_hba.conf:3)', { pid: 1 }))).toMatchObject({ outcome: 'authorized', user: 'alice' })
    // the second of authenticated + authorized is the same session
    expect(c.classify(rec('LOG', 'Verbindung autorisiert: Benutzer=alice Datenbank=shop SSL an (Protokoll=TLSv1.3, Verschlüsselungsmethode=TLS_AES_256_GCM_SHA384, Bits=256)', { pid: 1 }))).toBeUndefined()
    const closed = c.classify(rec('LOG', 'Verbindungsende: Sitzungszeit: 0:00:00.048 Benutzer=alice Datenbank=shop Host=127.0.0.2 port=38843', { pid: 1 }))
    expect(closed).toMatchObject({ outcome: 'closed', user: 'alice', database: 'shop', clientIp: '127.0.0.2' })
    const deny = c.classify(rec('FATAL', 'kein pg_hba.conf-Eintrag für Host »127.0.0.2«, Benutzer »alice«, Datenbank »shop«, keine Verschlüsselung', { pid: 2, sqlstate: '28000' }))
    expect(deny).toMatchObject({ reason: 'no_hba_entry_ssl_off_known_client', clientIp: '127.0.0.2', user: 'alice', database: 'shop' })
    const auth = new Classifier()
    const a = auth.classify(rec('LOG', 'Verbindung autorisiert: Benutzer=bob Datenbank=shop SSL an (Protokoll=TLSv1.2, Verschlüsselungsmethode=x, Bits=256)', { pid: 3 }))
    expect(a).toMatchObject({ outcome: 'authorized', user: 'bob', database: 'shop', tlsProtocol: 'TLSv1.2' })
  })

  it("LOG wordings pass the parsers' relevance filter where it meets them: mid-line, no SQLSTATE", () => {
    const at = (message: string) => {
      const line = `2026-03-02 10:00:00.000 MEZ [42] app@shop LOG:  ${message}`
      return mayClassify('LOG', line, line.indexOf(message), undefined)
    }
    expect(at('Verbindung empfangen: Host=127.0.0.2 Port=38843')).toBe(true)
    expect(at('Verbindung autorisiert: Benutzer=alice Datenbank=shop')).toBe(true)
    expect(at('Verbindungsende: Sitzungszeit: 0:00:00.048 Benutzer=alice')).toBe(true)
    expect(at('unvollständiges Startpaket')).toBe(true)
    expect(at('das Datenbanksystem fährt herunter')).toBe(true)
    // same first letters, other texts: let go before a record is built
    expect(at('duration: 1.0 ms  statement: select 1')).toBe(false)
    expect(at('das ist kein Verbindungstext')).toBe(false)
    expect(at('Verbindungen werden gezählt')).toBe(false)
  })

  it('another language: the SQLSTATE alone names unambiguous failures; ambiguous ones are not guessed', () => {
    const c = new Classifier()
    expect(c.classify(rec('FATAL', 'la base de données « x » n’existe pas', { sqlstate: '3D000' }))?.reason).toBe('database_not_found')
    expect(c.classify(rec('FATAL', 'authentification par mot de passe échouée pour l’utilisateur « x »', { sqlstate: '28P01' }))?.reason).toBe('password_auth_failed')
    expect(c.classify(rec('FATAL', 'aucune entrée dans pg_hba.conf', { sqlstate: '28000' }))).toBeUndefined()
    // English lines that are not about connections stay out
    expect(c.classify(rec('LOG', 'duration: 1.0 ms  statement: select 1'))).toBeUndefined()
    expect(c.classify(rec('LOG', 'Verbindungen werden gezählt'))).toBeUndefined()
  })
})
