import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileCheck, TOPICS, type TopicKey } from '../src/index.js'

const valid: Record<'logs' | 'connections', Record<string, unknown>> = {
  logs: {
    id: 'a1',
    server: 'orders-prod',
    time: 1_767_225_600_000,
    severity: 'FATAL',
    message: 'password authentication failed for user "app"',
    sqlstate: '28P01',
    detail: 'Connection matched pg_hba.conf line 9: "host all all 0.0.0.0/0 scram-sha-256"',
    pid: 4711,
    user: 'app',
    clientIp: '10.0.0.7',
    clientPort: 54321,
    source: { kind: 'file', name: '/var/log/postgresql/postgresql.log', position: 1234 },
  },
  connections: {
    id: 'a1',
    server: 'orders-prod',
    time: 1_767_225_600_000,
    outcome: 'failed',
    category: 'auth_fail',
    reason: 'password_auth_failed',
    clientIp: '10.0.0.7',
    message: 'password authentication failed for user "app"',
    source: { kind: 'syslog', name: 'relay', position: '1767225600000000' },
  },
}

/** A value near a valid one: fields dropped, replaced by any JSON value, added, nested ones too. */
function mutated(base: Record<string, unknown>) {
  const keys = Object.keys(base)
  const edit = fc.oneof(
    fc.record({ op: fc.constant('drop'), key: fc.constantFrom(...keys) }),
    fc.record({ op: fc.constant('set'), key: fc.constantFrom(...keys, 'extra', '__proto__'), value: fc.jsonValue() }),
    fc.record({
      op: fc.constant('nested'),
      key: fc.constantFrom('kind', 'name', 'position', 'other'),
      value: fc.oneof(fc.jsonValue(), fc.constantFrom('file', 'azure', 'nope')),
    }),
  )
  return fc.array(edit, { maxLength: 3 }).map((edits) => {
    // through JSON, as the consumer gets it (an own "__proto__" key included)
    let text = JSON.stringify(base)
    for (const e of edits) {
      const o = JSON.parse(text)
      if (e.op === 'drop') delete o[e.key]
      // appended as text: a repeated key wins in JSON.parse, and "__proto__" stays an own key
      else if (e.op === 'set') text = `${JSON.stringify(o).slice(0, -1)},${JSON.stringify(e.key)}:${JSON.stringify(e.value)}}`
      else if (o.source && typeof o.source === 'object') o.source[e.key] = (e as { value: unknown }).value
      if (e.op !== 'set') text = JSON.stringify(o)
    }
    return JSON.parse(text) as unknown
  })
}

describe('compileCheck', () => {
  it('compiles the logs and connections schemas (the consumers hot path)', () => {
    expect(compileCheck(TOPICS.logs.schema)).toBeTypeOf('function')
    expect(compileCheck(TOPICS.connections.schema)).toBeTypeOf('function')
  })

  for (const key of ['logs', 'connections'] as TopicKey[]) {
    it(`${key}: check(v) exactly when zod accepts v as it is (no field stripped or changed)`, () => {
      const check = compileCheck(TOPICS[key].schema)!
      expect(check(valid[key as 'logs'])).toBe(true)
      fc.assert(
        fc.property(mutated(valid[key as 'logs']), (v) => {
          const zod = TOPICS[key].schema.safeParse(v)
          const same = zod.success && isDeepStrictEqual(zod.data, v)
          expect(check(v)).toBe(same)
        }),
        { numRuns: 5000 },
      )
    })
  }

  it('where code generation is disallowed (node --disallow-code-generation-from-strings) gives undefined: zod alone decides', () => {
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url))
    const script = `import('${index}').then((m) => console.log(typeof m.compileCheck(m.TOPICS.logs.schema)))`
    const run = (flags: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', ...flags, '-e', script], { encoding: 'utf8' }).trim()
    expect(run([])).toBe('function')
    expect(run(['--disallow-code-generation-from-strings'])).toBe('undefined')
  })

  it('refuses what JSON cannot carry but a caller might: infinite numbers, arrays for objects', () => {
    const check = compileCheck(TOPICS.logs.schema)!
    expect(check({ ...valid.logs, time: Number.POSITIVE_INFINITY })).toBe(false)
    expect(check([valid.logs])).toBe(false)
    expect(check(null)).toBe(false)
  })
})
