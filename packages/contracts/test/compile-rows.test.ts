import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileCheck, compileRows, readRow, TOPICS } from '../src/index.js'

const source = fc.record({
  kind: fc.constantFrom('file', 'stdin', 'syslog', 'http', 'azure', 'generator'),
  name: fc.string(),
  position: fc.oneof(fc.integer(), fc.string()),
})
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined })

/** Connection events with every optional field present or absent, texts of any characters. */
const events = fc.record({
  id: fc.string(),
  server: fc.string(),
  time: fc.integer(),
  outcome: fc.constantFrom('received', 'authorized', 'failed', 'closed'),
  category: opt(fc.constantFrom('firewall_deny', 'auth_fail', 'tls_reject')),
  reason: opt(fc.string()),
  user: opt(fc.string()),
  clientIp: opt(fc.string()),
  clientPort: opt(fc.integer({ min: 0, max: 65535 })),
  pid: opt(fc.integer({ min: 0 })),
  message: fc.string({ unit: 'grapheme' }),
  source: opt(source),
})

/** Drops the keys whose value is undefined: what a JSON object of the same record holds. */
const defined = (v: object) => JSON.parse(JSON.stringify(v))

describe('compileRows', () => {
  it('compiles the topics whose records are flat values (logs, connections, dead letters), not rca', () => {
    expect(compileRows(TOPICS.logs.schema)?.layout).toBe(
      'id,server,time,severity,message,sqlstate,detail,hint,context,statement,pid,sessionId,user,database,clientIp,clientPort,application,backendType,source(kind,name,position)',
    )
    expect(compileRows(TOPICS.logs.schema, TOPICS.logs.shared)?.layout).toBe(
      'id,=server,time,severity,message,sqlstate,detail,hint,context,statement,pid,sessionId,user,database,clientIp,clientPort,application,backendType,source(=kind,=name,position)',
    )
    expect(compileRows(TOPICS.connections.schema)).toBeDefined()
    // a shared field that is not a scalar of the schema: objects, not a silently unshared row
    expect(compileRows(TOPICS.logs.schema, ['source'])).toBeUndefined()
    expect(compileRows(TOPICS.logs.schema, ['nope'])).toBeUndefined()
    expect(compileRows(TOPICS.deadletter.schema)).toBeDefined()
    // arrays, nullable fields: objects on the wire, as before
    expect(compileRows(TOPICS.rca.schema)).toBeUndefined()
  })

  it('a record through JSON as a row and its shared values is the record again, valid as it is', () => {
    for (const shared of [[], TOPICS.connections.shared]) {
      const rows = compileRows(TOPICS.connections.schema, shared)!
      const check = compileCheck(TOPICS.connections.schema)!
      const wire = (v: unknown) => JSON.parse(JSON.stringify(v))
      fc.assert(
        fc.property(events, (e) => {
          const back = rows.fromRow(wire(rows.toRow(e)), wire(rows.shared(e)))
          expect(defined(back as object)).toEqual(defined(e))
          expect(check(back)).toBe(true)
          expect(TOPICS.connections.schema.parse(back)).toEqual(e)
        }),
        { numRuns: 1000 },
      )
    }
  })

  it('tells records that share their server and source from those that do not', () => {
    const rows = compileRows(TOPICS.connections.schema, TOPICS.connections.shared)!
    fc.assert(
      fc.property(events, events, (a, b) => {
        const same = a.server === b.server && a.source?.kind === b.source?.kind && a.source?.name === b.source?.name
        expect(rows.sameShared(a, b)).toBe(same)
        expect(
          rows.sameShared(a, { ...a, id: b.id, time: b.time, source: a.source && { ...a.source, position: 1 } }),
        ).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on a row that is not one, and what it reads from it is refused by the check', () => {
    const rows = compileRows(TOPICS.logs.schema, TOPICS.logs.shared)!
    const check = compileCheck(TOPICS.logs.schema)!
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (junk, shared) => {
        const v = rows.fromRow(junk, shared)
        expect(check(v)).toBe(TOPICS.logs.schema.safeParse(v).success && check(v))
        if (!Array.isArray(junk) || junk.length < 5) expect(check(v)).toBe(false)
      }),
      { numRuns: 3000 },
    )
  })
})

describe('readRow (a layout another version wrote)', () => {
  const e = {
    id: 'a',
    server: 's',
    time: 1,
    outcome: 'failed',
    message: 'm',
    source: { kind: 'file', name: 'f', position: 7 },
  }

  it('reads fields by name: an added field is stripped by zod, a dropped optional one is absent', () => {
    const v = readRow(
      'id,server,time,outcome,added,message,source(kind,name,position,added)',
      ['a', 's', 1, 'failed', 'new', 'm', ['file', 'f', 7, 'x']],
      [],
    )
    expect(compileCheck(TOPICS.connections.schema)!(v)).toBe(false) // unknown fields: zod decides
    expect(TOPICS.connections.schema.parse(v)).toEqual(e)
  })

  it('reads shared fields from the frame, also those of an absent object, and the row fields after them', () => {
    const layout = 'id,=server,time,outcome,message,source(=kind,=name,position),=added'
    const shared = ['s', 'file', 'f', 'x']
    expect(TOPICS.connections.schema.parse(readRow(layout, ['a', 1, 'failed', 'm', [7]], shared))).toEqual(e)
    const { source: _, ...bare } = e
    expect(TOPICS.connections.schema.parse(readRow(layout, ['a', 1, 'failed', 'm', null], shared))).toEqual(bare)
    // the compiled codec of that layout reads the same
    const own = compileRows(TOPICS.connections.schema, TOPICS.connections.shared)!
    const row = own.toRow(e)
    expect(readRow(own.layout, row, own.shared(e))).toEqual(own.fromRow(row, own.shared(e)))
  })

  it('keeps "__proto__" an own field (refused), never the prototype', () => {
    const v = readRow('id,__proto__', ['a', { polluted: true }], []) as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(TOPICS.connections.schema.safeParse(v).success).toBe(false)
  })

  it('reads a layout of deep or broken nesting without exhausting the stack', () => {
    expect(() => readRow(`${'a('.repeat(200_000)}b`, ['x'], 'junk')).not.toThrow()
    expect(() => readRow('a),(=b,,(', [1, 2, 3], [4])).not.toThrow()
  })
})
