import { describe, expect, it } from 'vitest'
import { chunkMarker, parseSyslog } from '../../src/sources/syslog/frame.js'

// What rsyslog 8.2302 (Debian 12) sends with its stock forwarding templates for one PostgreSQL line.
describe("syslog frames of rsyslog's stock templates", () => {
  const body = '[5-1] user=alice,db=shop,app=[unknown],client=127.0.0.3 FATAL:  password authentication failed for user "alice"'

  it('RSYSLOG_TraditionalForwardFormat', () => {
    const m = parseSyslog(`<134>Dec  2 19:00:04 db-7 postgres[10146]: ${body}`)
    expect(m).toMatchObject({ host: 'db-7', app: 'postgres', pid: 10146, content: body })
  })

  it('RSYSLOG_ForwardFormat: RFC 3339 time in an RFC 3164 header', () => {
    const m = parseSyslog(`<134>2026-12-02T19:00:04.685123+00:00 db-7 postgres[10146]: ${body}`)
    expect(m).toMatchObject({ host: 'db-7', app: 'postgres', pid: 10146, content: body, time: Date.parse('2026-12-02T19:00:04.685Z') })
    expect(chunkMarker(m!.content)).toMatchObject({ seq: 5, chunk: 1 })
  })

  it('RSYSLOG_SyslogProtocol23Format: the message keeps its leading space before [n-m]', () => {
    const m = parseSyslog(`<134>1 2026-12-02T19:00:04.685123+00:00 db-7 postgres 10146 - -  ${body}`)
    expect(m).toMatchObject({ host: 'db-7', app: 'postgres', pid: 10146, content: body })
    expect(chunkMarker(m!.content)).toMatchObject({ seq: 5, chunk: 1 })
  })

  it('still refuses what is not syslog', () => {
    expect(parseSyslog('2026-12-02 19:00:04.685 UTC [1] LOG:  x')).toBeUndefined()
    expect(parseSyslog('hello')).toBeUndefined()
  })
})
