import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { type DeadLetter, LogRecord } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { createParser, readLines } from '../src/index.js'

// the team's shared corpus, next to the checkout (a worktree may sit one level deeper)
const ROOT =
  process.env.CONNRCA_REAL_LOGS ??
  [4, 5].map((up) => resolve(dirname(fileURLToPath(import.meta.url)), `${'../'.repeat(up)}shared/real_logs`)).find(existsSync) ??
  '/nonexistent'
const files = ['filebeat', 'pgbadger'].flatMap((d) =>
  (existsSync(join(ROOT, d)) ? readdirSync(join(ROOT, d)) : [])
    .filter((f) => !f.endsWith('.json'))
    .map((f) => join(d, f)),
)

/** Inputs that legitimately yield dead letters, and why (everything else must parse cleanly). */
const EXPECTED_DEAD: Record<string, RegExp> = {
  'pgbadger/cnpg.log': /missing required field/, // operator lines between the PostgreSQL records
  'pgbadger/pg-syslog.2.gz': /from 'systemd'/,
  'pgbadger/pg_rawcsv.log': /does not match/, // pg_ctl console output
}

async function parseFile(rel: string) {
  const records: LogRecord[] = []
  const dead: DeadLetter[] = []
  const p = createParser(
    { format: 'auto', source: { kind: 'file', name: rel } },
    { record: (r) => records.push(r), deadLetter: (d) => dead.push(d) },
  )
  for await (const { line, position } of readLines(join(ROOT, rel))) p.push(line, position)
  p.flush()
  return { records, dead }
}

function raw(rel: string): string {
  const b = readFileSync(join(ROOT, rel))
  return (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8')
}

describe.runIf(existsSync(ROOT))('real logs', () => {
  for (const rel of files)
    it(`${rel} parses; records are valid; dead letters only where expected`, async () => {
      const { records, dead } = await parseFile(rel)
      expect(records.length + dead.length).toBeGreaterThan(0)
      for (const r of records.length > 2000 ? records.filter((_, i) => i % 97 === 0) : records) LogRecord.parse(r)
      const why = EXPECTED_DEAD[rel]
      if (why === undefined) expect(dead.map((d) => d.reason)).toEqual([])
      else for (const d of dead) expect(d.reason).toMatch(why)
      // a record's position is the start of its first line
      const text = raw(rel)
      const buf = Buffer.from(text)
      for (const r of records.slice(0, 50)) {
        const pos = r.source.position as number
        expect(pos === 0 || buf[pos - 1] === 10).toBe(true)
      }
    })

  const expectedFiles = readdirSync(join(ROOT, 'filebeat')).filter((f) => f.endsWith('-expected.json'))
  for (const ef of expectedFiles)
    it(`matches filebeat's ${ef}`, async () => {
      const rel = `filebeat/${ef.replace('-expected.json', '')}`
      const expected = JSON.parse(readFileSync(join(ROOT, 'filebeat', ef), 'utf8')) as Record<string, unknown>[]
      const { records } = await parseFile(rel)
      const text = raw(rel)
      const cont = new Set(['DETAIL', 'HINT', 'STATEMENT', 'CONTEXT', 'QUERY', 'LOCATION'])
      const main = expected.filter((e) => !cont.has(e['log.level'] as string))
      expect(records).toHaveLength(main.length)
      main.forEach((e, i) => {
        const r = records[i]
        // filebeat reads EST with the machine's DST rules (-4h in July); PostgreSQL's EST is always -5h
        if (e['event.timezone'] === 'EST')
          expect(r.time).toBe(
            Date.parse(`${(e['postgresql.log.timestamp'] as string).replace(' EST', '').replace(' ', 'T')}-05:00`),
          )
        else expect(new Date(r.time).toISOString()).toBe(e['@timestamp'])
        expect(r.severity).toBe(e['log.level'])
        expect(r.source.position).toBe(e['log.offset'])
        expect(r.pid).toBe(Number(e['process.pid']))
        expect(r.message.endsWith(e.message as string)).toBe(true)
        if (e['user.name']) expect(r.user).toBe(e['user.name'])
        // (one expected file names a database its fixture line does not contain: compare only what the log says)
        if (e['postgresql.log.database'] && text.includes(e['postgresql.log.database'] as string))
          expect(r.database).toBe(e['postgresql.log.database'])
        if (e['postgresql.log.client_addr']) expect(r.clientIp).toBe(e['postgresql.log.client_addr'])
        if (e['postgresql.log.sql_state_code']) expect(r.sqlstate).toBe(e['postgresql.log.sql_state_code'])
      })
      // continuation entries are joined into the record before them
      for (const e of expected.filter((x) => cont.has(x['log.level'] as string))) {
        const owner = records.filter((r) => (r.source.position as number) < (e['log.offset'] as number)).at(-1)!
        const field = { DETAIL: owner.detail, HINT: owner.hint, STATEMENT: owner.statement }[e['log.level'] as string]
        // filebeat keeps the tab PostgreSQL puts before continuation lines; the parser removes it
        expect(field).toBe((e.message as string).replaceAll('\n\t', '\n'))
      }
    })

  it('FATAL/ERROR counts equal a grep of the raw text (stderr files)', async () => {
    for (const rel of files) {
      const text = raw(rel)
      if (text.startsWith('{') || /^"?\d{4}-\d\d-\d\d [\d:.]+ \w+"?,/.test(text)) continue // json / csv
      const { records } = await parseFile(rel)
      for (const sev of ['FATAL', 'ERROR', 'PANIC']) {
        const grep = text.split('\n').filter((l) => new RegExp(`^\\S.*?[\\s:\\]]${sev}:  `).test(l)).length
        expect(records.filter((r) => r.severity === sev).length, `${rel} ${sev}`).toBe(grep)
      }
    }
  })

  it('jsonlog and stderr logs of the same server yield the same records', async () => {
    const a = await parseFile('pgbadger/pg_vacuums.json.gz')
    const b = await parseFile('pgbadger/pg_vacuums.log.gz')
    expect(a.records.length).toBe(b.records.length)
    expect(a.records.map((r) => r.pid)).toEqual(b.records.map((r) => r.pid))
    // the two destinations are written separately: stderr has whole seconds, jsonlog milliseconds
    for (let i = 0; i < a.records.length; i++)
      expect(Math.abs(a.records[i].time - b.records[i].time)).toBeLessThan(2000)
    expect(a.records.slice(0, 200).map((r) => r.message)).toEqual(b.records.slice(0, 200).map((r) => r.message))
  })
})
