// Azure's default log_line_prefix `%t-%c-` (Single and Flexible Server) has no %p and no %h: the
// gap found on real server logs was that nothing linked `connection received: host=…` to what the
// backend logged next. `%c` is `<hex start time>.<hex pid>`; pglog takes the pid from it. Lines as
// PostgreSQL 15 writes them with this prefix (test/realpg runs the same prefix on a real server).
import type { ConnectionEvent } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import { describe, expect, it } from 'vitest'
import { Classifier } from '../src/index.js'

function classify(lines: string[]): ConnectionEvent[] {
  const c = new Classifier()
  const out: ConnectionEvent[] = []
  const p = createParser(
    { format: 'auto', source: { kind: 'file', name: 'azure.log' } },
    {
      record: (r) => {
        const ev = c.classify(r)
        if (ev) out.push(ev)
      },
      deadLetter: (d) => {
        throw new Error(d.reason)
      },
    },
  )
  let pos = 0
  for (const l of lines) {
    p.push(l, pos)
    pos += l.length + 1
  }
  p.flush()
  return out
}

describe("Azure's %t-%c- prefix (no %p, no %h), detected without flags", () => {
  const lines = [
    // .2 logs in over TLS: authenticated + authorized of one backend are one authorized connection
    '2026-12-02 18:44:03 UTC-6b1066f3.65c3-LOG:  connection received: host=127.0.0.2 port=40641',
    '2026-12-02 18:44:03 UTC-6b1066f3.65c3-LOG:  connection authenticated: identity="alice" method=scram-sha-256 (/var/lib/postgresql/data/pg_hba.conf:3)',
    '2026-12-02 18:44:03 UTC-6b1066f3.65c3-LOG:  connection authorized: user=alice database=shop SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)',
    '2026-12-02 18:44:03 UTC-6b1066f3.65c3-LOG:  disconnection: session time: 0:00:00.012 user=alice database=shop host=127.0.0.2 port=40641',
    // .2 again without TLS on a hostssl-only line: the server requires TLS of an admitted client
    '2026-12-02 18:44:05 UTC-6b1066f5.65c4-LOG:  connection received: host=127.0.0.2 port=40650',
    '2026-12-02 18:44:05 UTC-6b1066f5.65c4-FATAL:  no pg_hba.conf entry for host "127.0.0.2", user "alice", database "shop", no encryption',
    // .3 with a wrong password: the message names no host, the linked `connection received` does
    '2026-12-02 18:44:06 UTC-6b1066f6.65c5-LOG:  connection received: host=127.0.0.3 port=40660',
    '2026-12-02 18:44:06 UTC-6b1066f6.65c5-FATAL:  password authentication failed for user "alice"',
    '2026-12-02 18:44:06 UTC-6b1066f6.65c5-DETAIL:  Connection matched pg_hba.conf line 4: "host all all 127.0.0.3/32 scram-sha-256"',
    // .4 with no such database: neither the message nor the prefix names the client
    '2026-12-02 18:44:07 UTC-6b1066f7.65c6-LOG:  connection received: host=127.0.0.4 port=40670',
    '2026-12-02 18:44:07 UTC-6b1066f7.65c6-LOG:  connection authorized: user=alice database=nosuchdb',
    '2026-12-02 18:44:07 UTC-6b1066f7.65c6-FATAL:  database "nosuchdb" does not exist',
  ]

  it('links each failure to its connection received line through the pid in %c', () => {
    const evs = classify(lines)
    const count = (o: string) => evs.filter((e) => e.outcome === o).length
    expect([count('received'), count('authorized'), count('closed'), count('failed')]).toEqual([4, 2, 1, 3])
    expect(evs.filter((e) => e.outcome === 'failed').map((e) => [e.category, e.reason, e.clientIp, e.pid])).toEqual([
      ['tls_reject', 'no_hba_entry_ssl_off_known_client', '127.0.0.2', 0x65c4],
      ['auth_fail', 'password_auth_failed', '127.0.0.3', 0x65c5],
      ['user_error', 'database_not_found', '127.0.0.4', 0x65c6],
    ])
  })
})
