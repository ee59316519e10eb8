import type { ConnectionEvent, LogRecord } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { Classifier } from '../src/index.js'
import { rec } from './helpers.js'

// Attempts whose meaning depends on earlier lines: the client address learnt from `connection
// received`, TLS history, a session already authorized, one attempt counted once, a precursor.
const LOG: LogRecord[] = [
  rec('LOG', 'connection received: host=10.0.0.8 port=5000', { pid: 1 }),
  rec('LOG', 'connection authorized: user=app database=orders SSL enabled (protocol=TLSv1.3, cipher=x, bits=256)', {
    pid: 1,
  }),
  rec('LOG', 'connection received: host=10.0.0.9 port=5001', { pid: 2 }),
  rec('FATAL', 'password authentication failed for user "app"', { pid: 2 }),
  rec('LOG', 'connection received: host=10.0.0.10 port=5002', { pid: 3 }),
  rec('LOG', 'could not accept SSL connection: wrong version number', { pid: 3 }),
  rec('FATAL', 'no pg_hba.conf entry for host "10.0.0.8", user "app", database "orders", no encryption', { pid: 4 }),
  rec('LOG', 'SSL error: decryption failed or bad record mac', { pid: 1 }),
  rec('LOG', 'connection received: host=10.0.0.11 port=5003', { pid: 5 }),
  rec('LOG', 'could not send data to client: Broken pipe', { pid: 5 }),
  rec('FATAL', 'connection to client lost', { pid: 5 }),
  rec('LOG', 'connection received: host=[local]', { pid: 6 }),
  rec('LOG', 'could not get peer credentials: Operation not supported', { pid: 6 }),
  rec('FATAL', 'Peer authentication failed for user "app"', { pid: 6 }),
  rec('LOG', 'disconnection: session time: 0:00:01.000 user=app database=orders host=10.0.0.8 port=5000', { pid: 1 }),
]

function run(c: Classifier, records: LogRecord[]): ConnectionEvent[] {
  const out: ConnectionEvent[] = []
  for (const r of records) {
    const ev = c.classify(r)
    if (ev) out.push(ev)
  }
  return out
}

describe('classifier snapshot', () => {
  const whole = run(new Classifier(), LOG)

  it.each(LOG.map((_, i) => i))('a restart after record %i classifies the rest the same', (cut) => {
    const before = new Classifier()
    const head = run(before, LOG.slice(0, cut))
    const saved = JSON.parse(JSON.stringify(before.snapshot()))
    const tail = run(Classifier.restore({}, saved), LOG.slice(cut))
    expect([...head, ...tail]).toEqual(whole)
  })

  it('without the snapshot a restart loses what earlier lines said (the test can fail)', () => {
    const differs = LOG.map((_, cut) => {
      const head = run(new Classifier(), LOG.slice(0, cut))
      const tail = run(new Classifier(), LOG.slice(cut))
      return JSON.stringify([...head, ...tail]) !== JSON.stringify(whole)
    })
    expect(differs.filter(Boolean).length).toBeGreaterThan(5)
  })

  it('keeps the eviction order of its bounded memories', () => {
    const c = new Classifier({ historySize: 2 })
    for (const [pid, ip] of [
      [1, '10.0.0.1'],
      [2, '10.0.0.2'],
      [3, '10.0.0.3'],
    ] as const) {
      c.classify(rec('LOG', 'connection authorized: user=a database=b', { pid, clientIp: ip }))
    }
    const r = Classifier.restore({ historySize: 2 }, JSON.parse(JSON.stringify(c.snapshot())))
    r.classify(rec('LOG', 'connection authorized: user=a database=b', { pid: 4, clientIp: '10.0.0.4' }))
    const deny = (ip: string) =>
      r.classify(rec('FATAL', `no pg_hba.conf entry for host "${ip}", user "a", database "b", SSL off`))?.reason
    expect(deny('10.0.0.2')).toBe('no_hba_entry')
    expect(deny('10.0.0.3')).toBe('no_hba_entry_ssl_off_known_client')
  })

  it('leaves out backends that ended with a failure long ago; a reused pid starts afresh', () => {
    const c = new Classifier({ samePidWindowMs: 60_000 })
    const at = (t: number, severity: LogRecord['severity'], message: string, pid: number) =>
      rec(severity, message, { pid, time: 1_800_000_000_000 + t })
    c.classify(at(0, 'LOG', 'connection received: host=10.1.1.1 port=1', 7))
    c.classify(at(1, 'FATAL', 'password authentication failed for user "old"', 7))
    c.classify(at(5_000, 'LOG', 'connection received: host=10.1.1.2 port=2', 8))
    expect(c.snapshot().servers[0].pids.map((p) => p[0])).toEqual([7, 8])
    c.classify(at(200_000, 'LOG', 'connection received: host=10.1.1.3 port=3', 9))
    c.classify(at(200_001, 'FATAL', 'password authentication failed for user "new"', 9))
    expect(c.snapshot().servers[0].pids.map((p) => p[0])).toEqual([8, 9])
    // pid 7 comes back as a new backend without a `connection received` line
    const ev = c.classify(at(200_002, 'FATAL', 'sorry, too many clients already', 7))
    expect(ev).toMatchObject({ category: 'limit_reached' })
    expect(ev?.clientIp).toBeUndefined()
    expect(ev?.user).toBeUndefined()
  })

  it('refuses what is not its snapshot', () => {
    expect(() => Classifier.restore({}, { format: 'other' })).toThrow(/not a connrca.classifier.v1 snapshot/)
    expect(() =>
      Classifier.restore(
        {},
        {
          format: 'connrca.classifier.v1',
          servers: [{ name: 'a', pids: [[1, null, null, null, null, null, false, null, null, 'nope']], admitted: [] }],
        },
      ),
    ).toThrow(/unknown reason "nope"/)
  })
})
