import { ConnectionEvent } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { Classifier } from '../src/index.js'
import { rec } from './helpers.js'

describe('outcomes of the connection lifecycle', () => {
  it('connection received -> received, with host and port from the text', () => {
    const r = rec('LOG', 'connection received: host=10.1.2.3 port=52114', { pid: 100 })
    const ev = new Classifier().classify(r)
    expect(ev).toMatchObject({
      id: r.id,
      server: 'pg1',
      time: r.time,
      outcome: 'received',
      clientIp: '10.1.2.3',
      clientPort: 52114,
      pid: 100,
    })
    expect(ev?.category).toBeUndefined()
    expect(() => ConnectionEvent.parse(ev)).not.toThrow()
  })

  it('unix socket and IPv6 hosts', () => {
    const c = new Classifier()
    expect(c.classify(rec('LOG', 'connection received: host=[local]'))).toMatchObject({
      clientIp: '[local]',
      clientPort: undefined,
    })
    expect(c.classify(rec('LOG', 'connection received: host=::1 port=5000'))).toMatchObject({
      clientIp: '::1',
      clientPort: 5000,
    })
  })

  it('connection authorized -> authorized with user, database, application and TLS protocol', () => {
    const ev = new Classifier().classify(
      rec(
        'LOG',
        'connection authorized: user=app database=orders application_name=orders api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)',
      ),
    )
    expect(ev).toMatchObject({
      outcome: 'authorized',
      user: 'app',
      database: 'orders',
      application: 'orders api',
      tlsProtocol: 'TLSv1.3',
    })
  })

  it('PG < 12 SSL wording, replication connections and PG14+ authenticated lines', () => {
    const c = new Classifier()
    expect(
      c.classify(
        rec(
          'LOG',
          'connection authorized: user=a database=b SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256, compression=off)',
        ),
      ),
    ).toMatchObject({ outcome: 'authorized', tlsProtocol: 'TLSv1.2', user: 'a', database: 'b' })
    expect(
      c.classify(rec('LOG', 'replication connection authorized: user=rep application_name=walreceiver')),
    ).toMatchObject({
      outcome: 'authorized',
      user: 'rep',
      application: 'walreceiver',
    })
    expect(
      c.classify(
        rec(
          'LOG',
          'connection authenticated: identity="alice" method=scram-sha-256 (/etc/postgresql/17/main/pg_hba.conf:120)',
        ),
      ),
    ).toMatchObject({
      outcome: 'authorized',
      user: 'alice',
    })
  })

  it('authenticated + authorized of one session yield one authorized event', () => {
    const c = new Classifier()
    const out = [
      rec('LOG', 'connection received: host=10.0.0.5 port=4000', { pid: 7 }),
      rec('LOG', 'connection authenticated: identity="alice" method=scram-sha-256 (pg_hba.conf:1)', { pid: 7 }),
      rec('LOG', 'connection authorized: user=alice database=db', { pid: 7 }),
    ].map((r) => c.classify(r)?.outcome)
    expect(out).toEqual(['received', 'authorized', undefined])
  })

  it('disconnection -> closed with session fields', () => {
    const ev = new Classifier().classify(
      rec('LOG', 'disconnection: session time: 0:00:01.234 user=app database=orders host=10.1.2.3 port=52114'),
    )
    expect(ev).toMatchObject({
      outcome: 'closed',
      user: 'app',
      database: 'orders',
      clientIp: '10.1.2.3',
      clientPort: 52114,
    })
  })

  it('record fields win over text', () => {
    const ev = new Classifier().classify(
      rec('LOG', 'connection authorized: user=app database=orders', {
        user: 'u2',
        database: 'd2',
        clientIp: '1.1.1.1',
        clientPort: 9,
      }),
    )
    expect(ev).toMatchObject({ user: 'u2', database: 'd2', clientIp: '1.1.1.1', clientPort: 9 })
  })
})

describe('records that are not about connections produce nothing', () => {
  const c = new Classifier()
  it.each([
    ['LOG', 'duration: 0.512 ms  statement: SELECT 1'],
    ['LOG', 'checkpoint starting: time'],
    ['LOG', 'checkpoint complete: wrote 3 buffers (0.0%); 0 WAL file(s) added'],
    ['LOG', 'automatic vacuum of table "orders.public.items": index scans: 0'],
    ['LOG', 'database system is ready to accept connections'],
    ['LOG', 'database system is shut down'],
    ['LOG', 'statement: SELECT * FROM clients'],
    ['ERROR', 'relation "missing" does not exist at character 15'],
    ['ERROR', 'database "x" does not exist'],
    ['ERROR', 'permission denied for database orders'],
    ['FATAL', 'terminating connection due to idle-in-transaction timeout'],
    ['FATAL', 'terminating connection due to idle-session timeout'],
    ['FATAL', 'configuration file "/etc/postgresql/17/main/postgresql.conf" contains errors'],
    ['WARNING', 'could not receive data from client: Connection reset by peer'],
    ['DETAIL', 'Password does not match for user "app".'],
    ['STATEMENT', 'select 1'],
    ['LOG', 'could not get peer credentials: Operation not supported'],
  ] as const)('%s %s', (severity, message) => {
    expect(c.classify(rec(severity, message, { user: 'app' }))).toBeUndefined()
  })

  it('administrator command FATALs of background workers', () => {
    expect(c.classify(rec('FATAL', 'terminating connection due to administrator command'))).toBeUndefined()
    expect(
      c.classify(
        rec('FATAL', 'terminating connection due to administrator command', {
          backendType: 'logical replication launcher',
        }),
      ),
    ).toBeUndefined()
    expect(
      c.classify(rec('FATAL', 'terminating connection due to administrator command', { backendType: 'client backend' }))
        ?.reason,
    ).toBe('admin_termination')
  })
})

describe('field extraction on failures', () => {
  it('the pg_hba.conf line an authentication failure matched (DETAIL), PG 15 and PG 16+ wordings', () => {
    let pid = 9
    const fail = (detail: string) =>
      new Classifier().classify(
        rec('FATAL', 'password authentication failed for user "app"', { pid: pid++, sqlstate: '28P01', detail }),
      )
    expect(
      fail(
        'Password does not match for user "app".\nConnection matched pg_hba.conf line 95: "host all all 0.0.0.0/0 scram-sha-256"',
      )?.hbaLine,
    ).toBe('line 95: host all all 0.0.0.0/0 scram-sha-256')
    expect(
      fail('Connection matched file "/etc/postgresql/16/main/pg_hba.conf" line 7: "host all all 10.0.0.0/8 md5"')
        ?.hbaLine,
    ).toBe('/etc/postgresql/16/main/pg_hba.conf line 7: host all all 10.0.0.0/8 md5')
    expect(fail('User "app" has no password assigned.')?.hbaLine).toBeUndefined()
  })

  it('the TLS versions the server accepts, from the HINT of a refused handshake', () => {
    const ev = new Classifier().classify(
      rec('LOG', 'could not accept SSL connection: unsupported protocol', {
        pid: 3,
        sqlstate: '08P01',
        hint: 'This may indicate that the client does not support any SSL protocol version between TLSv1.2 and TLSv1.3.',
      }),
    )
    expect(ev).toMatchObject({ category: 'tls_reject', serverTls: 'TLSv1.2 to TLSv1.3' })
    expect(() => ConnectionEvent.parse(ev)).not.toThrow()
  })

  it('hba: host, user, database from the text', () => {
    const ev = new Classifier().classify(
      rec('FATAL', 'no pg_hba.conf entry for host "81.2.69.7", user "app", database "orders", SSL on', { pid: 5 }),
    )
    expect(ev).toMatchObject({
      outcome: 'failed',
      category: 'firewall_deny',
      clientIp: '81.2.69.7',
      user: 'app',
      database: 'orders',
      sqlstate: '28000',
    })
  })

  it('client address of a failure comes from the connection received of the same pid', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection received: host=10.9.8.7 port=4444', { pid: 42 }))
    const ev = c.classify(
      rec('FATAL', 'password authentication failed for user "app"', { pid: 42, database: 'orders' }),
    )
    expect(ev).toMatchObject({
      clientIp: '10.9.8.7',
      clientPort: 4444,
      user: 'app',
      database: 'orders',
      reason: 'password_auth_failed',
    })
  })

  it('pids are per server', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection received: host=10.9.8.7 port=4444', { pid: 42, server: 'a' }))
    const ev = c.classify(rec('FATAL', 'password authentication failed for user "app"', { pid: 42, server: 'b' }))
    expect(ev?.clientIp).toBeUndefined()
  })

  it('role and database names', () => {
    const c = new Classifier()
    expect(c.classify(rec('FATAL', 'role "ghost" does not exist'))?.user).toBe('ghost')
    expect(c.classify(rec('FATAL', 'too many connections for role "app"'))?.user).toBe('app')
    expect(c.classify(rec('FATAL', 'database "nope" does not exist'))?.database).toBe('nope')
    expect(c.classify(rec('FATAL', 'permission denied for database "orders"'))?.database).toBe('orders')
  })

  it('user and database of an admin termination come from the session', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection received: host=10.0.0.1 port=1', { pid: 9 }))
    c.classify(rec('LOG', 'connection authorized: user=app database=orders application_name=api', { pid: 9 }))
    const ev = c.classify(rec('FATAL', 'terminating connection due to administrator command', { pid: 9 }))
    expect(ev).toMatchObject({
      reason: 'admin_termination',
      user: 'app',
      database: 'orders',
      clientIp: '10.0.0.1',
      application: 'api',
    })
  })

  it('TLS protocol named in a failure', () => {
    const ev = new Classifier().classify(
      rec('FATAL', 'TLS version used does not meet minimal requirements for this server. TLSv1 is not supported.'),
    )
    expect(ev?.tlsProtocol).toBe('TLSv1')
  })
})

describe('TLS reject by history: ssl off from a client the server admitted before', () => {
  const admit = (c: Classifier, ip: string, pid: number, server = 'pg1') => {
    c.classify(rec('LOG', `connection received: host=${ip} port=5000`, { pid, server }))
    c.classify(
      rec('LOG', 'connection authorized: user=app database=orders SSL enabled (protocol=TLSv1.3, cipher=x, bits=256)', {
        pid,
        server,
      }),
    )
  }

  it.each([
    [
      'no pg_hba.conf entry for host "10.0.0.8", user "app", database "orders", no encryption',
      'no_hba_entry_ssl_off_known_client',
    ],
    [
      'no pg_hba.conf entry for host "10.0.0.8", user "app", database "orders", SSL off',
      'no_hba_entry_ssl_off_known_client',
    ],
    [
      'pg_hba.conf rejects connection for host "10.0.0.8", user "app", database "orders", no encryption',
      'hba_reject_ssl_off_known_client',
    ],
  ])('%s', (message, reason) => {
    const c = new Classifier()
    admit(c, '10.0.0.8', 1)
    const ev = c.classify(rec('FATAL', message, { pid: 2 }))
    expect(ev).toMatchObject({ category: 'tls_reject', reason })
  })

  it('an unknown client stays a firewall deny; an encrypted attempt too', () => {
    const c = new Classifier()
    admit(c, '10.0.0.8', 1)
    expect(
      c.classify(
        rec('FATAL', 'no pg_hba.conf entry for host "10.0.0.99", user "app", database "orders", no encryption'),
      )?.reason,
    ).toBe('no_hba_entry')
    expect(
      c.classify(
        rec('FATAL', 'no pg_hba.conf entry for host "10.0.0.8", user "app", database "orders", SSL encryption'),
      )?.reason,
    ).toBe('no_hba_entry')
  })

  it("libpq's sslmode=prefer retry of a firewall deny is a firewall deny, although the client was admitted before", () => {
    const c = new Classifier()
    admit(c, '10.0.0.8', 1) // admitted for app@orders
    const t0 = 1_800_000_000_000
    const deny = (pid: number, time: number, user: string, db: string, enc: string) =>
      c.classify(
        rec('FATAL', `no pg_hba.conf entry for host "10.0.0.8", user "${user}", database "${db}", ${enc}`, {
          pid,
          time,
        }),
      )
    // TLS attempt denied, the retry without TLS 3 ms later: both firewall denies
    expect(deny(10, t0, 'carol', 'shop', 'SSL encryption')?.reason).toBe('no_hba_entry')
    expect(deny(11, t0 + 3, 'carol', 'shop', 'no encryption')?.reason).toBe('no_hba_entry')
    // PG < 12 wording, and a reject line
    expect(deny(12, t0 + 10_000, 'dave', 'shop', 'SSL on')?.reason).toBe('no_hba_entry')
    expect(deny(13, t0 + 10_002, 'dave', 'shop', 'SSL off')?.reason).toBe('no_hba_entry')
    const rej = (pid: number, time: number, enc: string) =>
      c.classify(
        rec('FATAL', `pg_hba.conf rejects connection for host "10.0.0.8", user "erin", database "shop", ${enc}`, {
          pid,
          time,
        }),
      )
    expect(rej(14, t0 + 20_000, 'SSL encryption')?.reason).toBe('hba_reject')
    expect(rej(15, t0 + 20_001, 'no encryption')?.reason).toBe('hba_reject')
    // another user or database, or long after: the server requires TLS of this known client
    expect(deny(16, t0 + 30_000, 'carol', 'shop', 'SSL encryption')?.reason).toBe('no_hba_entry')
    expect(deny(17, t0 + 30_002, 'carol', 'other', 'no encryption')?.reason).toBe('no_hba_entry_ssl_off_known_client')
    expect(deny(18, t0 + 40_000, 'carol', 'shop', 'no encryption')?.reason).toBe('no_hba_entry_ssl_off_known_client')
  })

  it('history is per server', () => {
    const c = new Classifier()
    admit(c, '10.0.0.8', 1, 'other')
    expect(
      c.classify(rec('FATAL', 'no pg_hba.conf entry for host "10.0.0.8", user "app", database "orders", SSL off'))
        ?.category,
    ).toBe('firewall_deny')
  })

  it('the history is bounded: the oldest client is forgotten', () => {
    const c = new Classifier({ historySize: 2 })
    admit(c, '10.0.0.1', 1)
    admit(c, '10.0.0.2', 2)
    admit(c, '10.0.0.3', 3)
    const deny = (ip: string) =>
      c.classify(rec('FATAL', `no pg_hba.conf entry for host "${ip}", user "a", database "b", SSL off`))?.reason
    expect(deny('10.0.0.1')).toBe('no_hba_entry')
    expect(deny('10.0.0.3')).toBe('no_hba_entry_ssl_off_known_client')
  })

  it('the client address of the authorized line may come from the record (%h)', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection authorized: user=app database=orders', { clientIp: '10.7.7.7' }))
    expect(
      c.classify(rec('FATAL', 'no pg_hba.conf entry for host "10.7.7.7", user "app", database "orders", SSL off'))
        ?.category,
    ).toBe('tls_reject')
  })
})

describe('one attempt counts once', () => {
  it('could not send data + connection to client lost of one pid', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection received: host=10.0.0.1 port=1', { pid: 3 }))
    const a = c.classify(rec('LOG', 'could not send data to client: Broken pipe', { pid: 3 }))
    const b = c.classify(rec('FATAL', 'connection to client lost', { pid: 3 }))
    expect(a?.reason).toBe('client_send_failed')
    expect(b).toBeUndefined()
  })

  it('could not receive data + unexpected EOF of one pid', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection received: host=10.0.0.1 port=1', { pid: 3 }))
    expect(
      c.classify(rec('LOG', 'could not receive data from client: Connection reset by peer', { pid: 3 }))?.category,
    ).toBe('network')
    expect(
      c.classify(rec('LOG', 'unexpected EOF on client connection with an open transaction', { pid: 3 })),
    ).toBeUndefined()
  })

  it('a new connection received on a reused pid starts a new attempt', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection received: host=10.0.0.1 port=1', { pid: 3 }))
    expect(c.classify(rec('LOG', 'incomplete startup packet', { pid: 3 }))).toBeDefined()
    c.classify(rec('LOG', 'connection received: host=10.0.0.2 port=2', { pid: 3 }))
    expect(c.classify(rec('LOG', 'incomplete startup packet', { pid: 3 }))?.clientIp).toBe('10.0.0.2')
  })

  it('failures of different pids, or without pid, all count', () => {
    const c = new Classifier()
    const n = [1, 2, undefined, undefined].filter((pid) =>
      c.classify(rec('FATAL', 'sorry, too many clients already', { pid })),
    ).length
    expect(n).toBe(4)
  })

  it('a LOG precursor refines the FATAL of the same pid and is not counted itself', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection received: host=[local]', { pid: 8 }))
    expect(
      c.classify(rec('LOG', 'could not get peer credentials: Operation not supported', { pid: 8 })),
    ).toBeUndefined()
    expect(c.classify(rec('FATAL', 'Peer authentication failed for user "app"', { pid: 8 }))?.reason).toBe(
      'peer_credentials_unavailable',
    )
  })

  it('SSL error before authorization is a TLS reject, after it a network failure', () => {
    const c = new Classifier()
    c.classify(rec('LOG', 'connection received: host=10.0.0.1 port=1', { pid: 4 }))
    c.classify(rec('LOG', 'connection authorized: user=a database=b', { pid: 4 }))
    expect(c.classify(rec('LOG', 'SSL error: decryption failed or bad record mac', { pid: 4 }))?.reason).toBe(
      'ssl_error_in_session',
    )
  })
})
