import { describe, expect, it } from 'vitest'
import { compilePrefix, PrefixFields } from '../src/index.js'
import { SeverityScan } from '../src/severity.js'
import { TimestampParser } from '../src/timestamp.js'
import { iso, parse } from './helpers.js'

function m(prefix: string, line: string) {
  const f = new PrefixFields()
  const end = compilePrefix(prefix).match(line, 0, f, new TimestampParser(), new SeverityScan())
  f.resolve()
  return { end, rest: end >= 0 ? line.slice(end) : undefined, f }
}

describe('compilePrefix: each escape', () => {
  it('%m timestamp with millis and zone', () => {
    const r = m('%m ', '2026-03-02 10:02:03.123 UTC LOG:  x')
    expect(iso(r.f.time)).toBe('2026-03-02T10:02:03.123Z')
    expect(r.rest).toBe('LOG:  x')
  })
  it('%t timestamp without millis, zone abbreviations and numeric offsets', () => {
    expect(iso(m('%t ', '2026-03-02 10:02:03 CET LOG:  x').f.time)).toBe('2026-03-02T09:02:03.000Z')
    expect(iso(m('%t ', '2026-07-02 10:02:03 CEST LOG:  x').f.time)).toBe('2026-07-02T08:02:03.000Z')
    expect(iso(m('%t ', '2026-03-02 10:02:03 EST LOG:  x').f.time)).toBe('2026-03-02T15:02:03.000Z')
    expect(iso(m('%t ', '2026-03-02 10:02:03 PDT LOG:  x').f.time)).toBe('2026-03-02T17:02:03.000Z')
    expect(iso(m('%t ', '2026-03-02 10:02:03 +01 LOG:  x').f.time)).toBe('2026-03-02T09:02:03.000Z')
    expect(iso(m('%t ', '2026-03-02 10:02:03 -0330 LOG:  x').f.time)).toBe('2026-03-02T13:32:03.000Z')
    expect(iso(m('%t ', '2026-03-02 10:02:03 GMT LOG:  x').f.time)).toBe('2026-03-02T10:02:03.000Z')
  })
  it('unknown zone is treated as UTC without failing', () => {
    expect(iso(m('%t ', '2026-03-02 10:02:03 XYZT LOG:  x').f.time)).toBe('2026-03-02T10:02:03.000Z')
  })
  it('%n epoch seconds with millis', () => {
    expect(iso(m('%n ', '1772445723.456 LOG:  x').f.time)).toBe('2026-03-02T10:02:03.456Z')
  })
  it('%p pid and %l line number', () => {
    const r = m('[%p-%l] ', '[4242-17] LOG:  x')
    expect(r.f.pid).toBe(4242)
    expect(r.f.lineNum).toBe(17)
  })
  it('%c without %p: the pid is the part after the dot (hex), so Azure %t-%c- lines link to their backend', () => {
    const r = m('%t-%c-', '2026-12-02 18:44:03 UTC-6b1066f3.65c3-LOG:  connection received: host=127.0.0.3 port=40641')
    expect(r.f.sessionId).toBe('6b1066f3.65c3')
    expect(r.f.pid).toBe(0x65c3)
    expect(r.rest).toBe('LOG:  connection received: host=127.0.0.3 port=40641')
    // %p wins where both are present
    expect(m('%c [%p] ', '6b1066f3.65c3 [77] LOG:  x').f.pid).toBe(77)
    expect(m('[%p] %c ', '[77] 6b1066f3.65c3 LOG:  x').f.pid).toBe(77)
    // a session id without the dot names no pid
    expect(m('%c ', '6b1066f3 LOG:  x').f.pid).toBe(-1)
  })
  it('%c session id', () => {
    expect(m('%c ', '5e5c1a2b.1234 LOG:  x').f.sessionId).toBe('5e5c1a2b.1234')
  })
  it('%u %d %a free text up to the next literal; [unknown] means absent', () => {
    const r = m('%u@%d app=%a ', 'alice@orders app=psql LOG:  x')
    expect([r.f.user, r.f.database, r.f.application]).toEqual(['alice', 'orders', 'psql'])
    const u = m('%u@%d ', '[unknown]@[unknown] LOG:  x')
    expect([u.f.user, u.f.database]).toEqual([undefined, undefined])
  })
  it('%r host(port), [local], IPv6', () => {
    const r = m('%r ', '10.0.0.5(51234) LOG:  x')
    expect([r.f.clientIp, r.f.clientPort]).toEqual(['10.0.0.5', 51234])
    expect(m('%r ', '[local] LOG:  x').f.clientIp).toBeUndefined()
    const v6 = m('%t:%r:%u@%d:[%p]:', '2026-03-02 10:02:03 UTC:2001:db8::1(5432):u@d:[7]:LOG:  x')
    expect([v6.f.clientIp, v6.f.clientPort, v6.f.user, v6.f.pid]).toEqual(['2001:db8::1', 5432, 'u', 7])
  })
  it('%h host only', () => {
    expect(m('%h ', '192.0.2.7 LOG:  x').f.clientIp).toBe('192.0.2.7')
  })
  it('%e SQLSTATE', () => {
    expect(m('%e ', '28P01 FATAL:  x').f.sqlstate).toBe('28P01')
  })
  it('%s session start, %v vxid, %x xid, %b backend type, %Q query id, %i command tag', () => {
    const r = m('%s %v %x [%b] %Q %i ', '2026-03-02 10:00:00 UTC 3/12 0 [client backend] -42 SELECT LOG:  x')
    expect(r.rest).toBe('LOG:  x')
    expect(r.f.backendType).toBe('client backend')
  })
  it('%q: the rest of the prefix is absent for non-session processes', () => {
    const p = '%m [%p] %q%u@%d '
    expect(m(p, '2026-03-02 10:02:03.123 UTC [12] LOG:  checkpoint starting').rest).toBe('LOG:  checkpoint starting')
    const s = m(p, '2026-03-02 10:02:03.123 UTC [12] bob@db1 FATAL:  x')
    expect([s.f.user, s.f.database, s.rest]).toEqual(['bob', 'db1', 'FATAL:  x'])
  })
  it('%% is a literal percent sign', () => {
    expect(m('%%%p ', '%12 LOG:  x').f.pid).toBe(12)
  })
  it('a line that does not fit returns -1', () => {
    expect(m('%m [%p] ', 'garbage line').end).toBe(-1)
    expect(m('%m [%p] ', '2026-03-02 10:02:03.123 UTC 12 LOG:  x').end).toBe(-1)
  })
  it('bad prefixes throw one clear message', () => {
    expect(() => compilePrefix('%m %z ')).toThrow(/unknown escape '%z'/)
    expect(() => compilePrefix('%m %')).toThrow(/dangling '%'/)
    expect(() => compilePrefix('%u%d ')).toThrow(/cannot tell where it ends/)
  })
})

describe('default prefixes work without configuration', () => {
  const cases: [string, string[], (r: ReturnType<typeof parse>) => void][] = [
    [
      'Debian %m [%p] %q%u@%d ',
      [
        '2026-03-02 10:02:03.123 UTC [901] LOG:  database system is ready to accept connections',
        '2026-03-02 10:02:04.000 UTC [902] alice@orders FATAL:  password authentication failed for user "alice"',
      ],
      (r) => {
        expect(r.records[1]).toMatchObject({ pid: 902, user: 'alice', database: 'orders', severity: 'FATAL' })
      },
    ],
    [
      'Azure (Single and Flexible Server) %t-%c-',
      [
        '2026-03-02 10:02:03 UTC-5e5c1a2b.1234-LOG:  connection received: host=10.0.0.5 port=5432 pid=1234',
        '2026-03-02 10:02:04 UTC-5e5c1a2b.1235-FATAL:  no pg_hba.conf entry for host "81.2.69.1"',
      ],
      (r) => {
        expect(r.records[1]).toMatchObject({ sessionId: '5e5c1a2b.1235', severity: 'FATAL' })
        expect(iso(r.records[1].time)).toBe('2026-03-02T10:02:04.000Z')
      },
    ],
    [
      'user=/db=/app= brackets %m [%p] %q[user=%u,db=%d,app=%a] ',
      [
        '2026-03-02 10:02:03.100 UTC [77] LOG:  checkpoint starting: time',
        '2026-03-02 10:02:03.200 UTC [78] [user=carol,db=sales,app=psql] FATAL:  password authentication failed for user "carol"',
      ],
      (r) => {
        expect(r.records[1]).toMatchObject({ pid: 78, user: 'carol', database: 'sales', application: 'psql' })
      },
    ],
    [
      'RDS %t:%r:%u@%d:[%p]:',
      [
        '2026-03-02 10:02:03 UTC::@:[300]:LOG:  checkpoint starting: time',
        '2026-03-02 10:02:04 UTC:10.1.2.3(40000):dave@app:[301]:FATAL:  password authentication failed for user "dave"',
      ],
      (r) => {
        expect(r.records[1]).toMatchObject({
          pid: 301,
          user: 'dave',
          database: 'app',
          clientIp: '10.1.2.3',
          clientPort: 40000,
        })
      },
    ],
    [
      'plain %m [%p] ',
      ['2026-03-02 10:02:03.123 UTC [5] LOG:  a', '2026-03-02 10:02:03.124 UTC [6] FATAL:  b'],
      (r) => {
        expect(r.records.map((x) => x.pid)).toEqual([5, 6])
      },
    ],
    [
      'syslog-style %t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ',
      [
        '2026-03-02 10:02:03 UTC [20]: [1-1] user=,db=,app=,client= LOG:  database system is ready',
        '2026-03-02 10:02:04 UTC [36]: [2-1] user=eve,db=pay,app=pgbench,client=172.23.0.1 FATAL:  sorry, too many clients already',
      ],
      (r) => {
        expect(r.records[1]).toMatchObject({
          pid: 36,
          user: 'eve',
          database: 'pay',
          application: 'pgbench',
          clientIp: '172.23.0.1',
        })
      },
    ],
  ]
  for (const [name, lines, check] of cases)
    it(name, () => {
      const r = parse(lines.join('\n'))
      expect(r.dead).toEqual([])
      expect(r.records).toHaveLength(lines.length)
      check(r)
    })

  it('an unknown prefix still parses through the loose matcher', () => {
    const r = parse(
      '2026-03-02 10:02:03 UTC <<x>> pid=[55] usr=zed FATAL:  boom\n2026-03-02 10:02:04 UTC <<y>> pid=[56] LOG:  ok',
    )
    expect(r.dead).toEqual([])
    expect(r.records.map((x) => [x.severity, x.pid, x.message])).toEqual([
      ['FATAL', 55, 'boom'],
      ['LOG', 56, 'ok'],
    ])
  })
})
