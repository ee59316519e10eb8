/**
 * A real PostgreSQL 15 splits what it sends to syslog: one `[seq-chunk]` message (`[chunk]` with
 * syslog_sequence_numbers = off) per line of a multi-line message (further lines led by the tab
 * PostgreSQL adds, which rsyslog writes as #011),
 * and lines longer than 900 bytes into pieces cut at a word boundary, the next piece starting with
 * that space. Debian's rsyslogd writes what it receives to a file (its stock file template); pglog
 * must put the statement back together exactly, on the record of the process that logged it.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { DeadLetter, LogRecord } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Rsyslogd, rsyslogTests, startRsyslogd, syslogPgServer } from './rsyslogd.js'
import { type PgServer, sleep } from './server.js'

const PREFIX = 'user=%u,db=%d,app=%a,client=%h '
const { missing: noRsyslog, skip } = rsyslogTests('syslog split test')

describe.skipIf(skip)('a real PostgreSQL 15 statement split into syslog chunks, through rsyslog to a file', () => {
  let server: PgServer
  let dir: string
  let rsyslog: Rsyslogd | undefined
  const out = () => path.join(dir, 'postgres.log')

  beforeAll(async () => {
    if (noRsyslog) throw new Error(noRsyslog)
    const started = await syslogPgServer('syslog-split', {
      log_destination: "'syslog'",
      log_line_prefix: `'${PREFIX}'`,
      log_statement: "'all'",
    })
    server = started.server
    dir = started.dir
    const sock = started.sock
    const conf = path.join(dir, 'rsyslog.conf')
    writeFileSync(
      conf,
      [
        `global(workDirectory="${dir}")`,
        'module(load="imuxsock" SysSock.Use="off")',
        `input(type="imuxsock" Socket="${sock}" CreatePath="on" RateLimit.Interval="0")`,
        `action(type="omfile" file="${out()}" template="RSYSLOG_TraditionalFileFormat")`,
        '',
      ].join('\n'),
    )
    rsyslog = await startRsyslogd(conf, dir, sock)
  }, 120_000)

  afterAll(async () => {
    await rsyslog?.stop()
    await server?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  // syslog_sequence_numbers on writes [seq-chunk], off writes [chunk]
  for (const [numbers, marker] of [
    ['on', String.raw`\[\d+-[2-9]\]`],
    ['off', String.raw`\[[2-9]\]`],
  ] as const) {
    it(`a 1.9 KB statement over two lines comes back whole, glued without newlines where PostgreSQL cut it (syslog_sequence_numbers = ${numbers})`, async () => {
      await server.sql(`ALTER SYSTEM SET syslog_sequence_numbers = ${numbers}`)
      await server.sql('SELECT pg_reload_conf()')
      await sleep(300)
      const begin = `connrca-begin-${numbers}`
      await server.sql(`SELECT '${begin}'`)
      const words = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ')
      const sql = `SELECT '${words}' AS long_text,\n  2 AS b`
      await server.sql(sql)
      await expect(server.sql('SELECT 1/0')).rejects.toThrow(/division by zero/)
      const end = `connrca-split-end-${numbers}`
      await server.sql(`SELECT '${end}'`)
      let text = ''
      for (let i = 0; !text.includes(end); i++) {
        if (i > 400) throw new Error(`rsyslogd wrote no end marker: ${rsyslog?.stderr()}\n${text.slice(-2000)}`)
        await sleep(25)
        text = existsSync(out()) ? readFileSync(out(), 'utf8') : ''
      }
      // this setting's lines only: from the line of its begin statement on
      const all = text.split('\n')
      const lines = all.slice(all.findIndex((l) => l.includes(begin)))
      // the input is what this test is about: a piece led by a space and a #011 line, both chunk 2+
      expect(lines.some((l) => new RegExp(String.raw`postgres\[\d+\]: ${marker} {2}w\d`).test(l))).toBe(true)
      expect(lines.some((l) => new RegExp(String.raw`postgres\[\d+\]: ${marker} #011 {2}2 AS b$`).test(l))).toBe(true)

      for (const prefix of [PREFIX, undefined]) {
        const records: LogRecord[] = []
        const dead: DeadLetter[] = []
        const p = createParser(
          { format: 'syslog', prefix, source: { kind: 'file', name: 'postgres.log' } },
          { record: (r) => records.push(r), deadLetter: (d) => dead.push(d) },
        )
        for (let i = 0; i < lines.length; i++) p.push(lines[i], i)
        p.flush()
        expect(dead, `prefix ${prefix}`).toEqual([])
        const statements = records.filter((r) => r.message.startsWith('statement: SELECT'))
        // before the fix a piece joined as a line of its own, to the record written last: "w185\n w186"
        expect(statements.map((r) => r.message)).toEqual([
          `statement: SELECT '${begin}'`,
          `statement: ${sql}`,
          'statement: SELECT 1/0',
          `statement: SELECT '${end}'`,
        ])
        // the error's STATEMENT line (chunk 2 of its message) lands on the error's record
        expect(records.find((r) => r.severity === 'ERROR')).toMatchObject({
          message: 'division by zero',
          statement: 'SELECT 1/0',
        })
      }
      expect(rsyslog?.stderr() ?? '').toBe('')
    }, 60_000)
  }
})
