/**
 * Real relay: a real PostgreSQL 15 logs to syslog (log_destination = 'syslog', libc's syslog() on
 * /dev/log), Debian's rsyslogd receives it on its own imuxsock socket (the server's /dev/log, see
 * PgServer's `devLog`; the machine's /dev/log is not touched) and forwards it to connrca's syslog
 * source with each stock template over UDP, TCP with newline framing and TCP with octet counting.
 * What each listener hands on is classified and compared with what the scenario did, exactly.
 * The prefix is not configured: the listeners detect it.
 */
import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Classifier } from '@connrca/classifier'
import { type LogRecord, SyslogSource } from '@connrca/contracts'
import { SyslogListener } from '@connrca/pipeline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runScenario, SETUP_SQL, Truth } from './scenario.js'
import { type Rsyslogd, rsyslogTests, startRsyslogd, syslogPgServer } from './rsyslogd.js'
import { type PgServer, sleep } from './server.js'

/** Common with syslog: no time (the frame has it), no pid (the tag has it). */
const SYSLOG_PREFIX = 'user=%u,db=%d,app=%a,client=%h '

const { missing: noRsyslog, skip } = rsyslogTests('rsyslog test')

const TEMPLATES = ['RSYSLOG_TraditionalForwardFormat', 'RSYSLOG_ForwardFormat', 'RSYSLOG_SyslogProtocol23Format'] as const
const TRANSPORTS = [
  { transport: 'udp', protocol: 'udp', framing: '' },
  { transport: 'tcp-newline', protocol: 'tcp', framing: '' },
  { transport: 'tcp-octet-counted', protocol: 'tcp', framing: ' TCP_Framing="octet-counted"' },
] as const
const RELAYS = TRANSPORTS.flatMap((t) => TEMPLATES.map((template) => ({ ...t, template, name: `${t.transport} ${template}` })))

describe.skipIf(skip)('rsyslog relaying a real PostgreSQL 15 syslog to connrca', () => {
  let server: PgServer
  let dir: string
  let rsyslog: Rsyslogd | undefined
  const listeners: SyslogListener[] = []
  const got = new Map<string, LogRecord[]>()

  beforeAll(async () => {
    if (noRsyslog) throw new Error(noRsyslog)
    // syslog() drops messages while the socket is missing: the setup session's lines are not sent
    const started = await syslogPgServer('rsyslog', {
      log_destination: "'stderr,syslog'",
      log_line_prefix: `'${SYSLOG_PREFIX}'`,
    })
    server = started.server
    dir = started.dir
    const sock = started.sock
    for (const q of SETUP_SQL) await server.sql(q)

    for (const r of RELAYS) {
      const cfg = SyslogSource.parse({ type: 'syslog', name: r.name, [r.protocol]: { host: '127.0.0.1', port: 0 } })
      const l = new SyslogListener(cfg)
      const records: LogRecord[] = []
      got.set(r.name, records)
      await l.start(async (b) => {
        records.push(...b.records)
        if (b.deadLetters.length) throw new Error(`${r.name}: dead letters: ${JSON.stringify(b.deadLetters.slice(0, 3))}`)
      })
      listeners.push(l)
    }
    const actions = RELAYS.map((r, i) => {
      const port = listeners[i].ports[r.protocol]
      return `action(type="omfwd" target="127.0.0.1" port="${port}" protocol="${r.protocol}" template="${r.template}"${r.framing})`
    })
    const conf = path.join(dir, 'rsyslog.conf')
    writeFileSync(
      conf,
      [
        `global(workDirectory="${dir}")`,
        'module(load="imuxsock" SysSock.Use="off")',
        `input(type="imuxsock" Socket="${sock}" CreatePath="on" RateLimit.Interval="0")`,
        ...actions,
        '',
      ].join('\n'),
    )
    rsyslog = await startRsyslogd(conf, dir, sock)
  })

  afterAll(async () => {
    await rsyslog?.stop()
    await Promise.all(listeners.map((l) => l.stop()))
    await server?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('UDP, TCP newline and TCP octet-counted with RSYSLOG_TraditionalForwardFormat, _ForwardFormat and _SyslogProtocol23Format: exact counts', async () => {
    const truth = await runScenario(server, { shutdown: true })

    // the relay is done when every listener has the same, non-zero number of records and that
    // number stayed put for a second (rsyslog forwards asynchronously; the listeners hold
    // PostgreSQL's chunks up to 500 ms for reassembly)
    let last = ''
    let still = 0
    for (let i = 0; i < 100 && still < 4; i++) {
      await sleep(250)
      const counts = [...got.values()].map((rs) => rs.length)
      const now = counts.join(',')
      still = now === last && counts[0] > 0 && counts.every((n) => n === counts[0]) ? still + 1 : 0
      last = now
    }
    await Promise.all(listeners.map((l) => l.stop()))

    const results = RELAYS.map((r) => {
      const c = new Classifier()
      const seen = new Truth()
      for (const rec of got.get(r.name)!) {
        const ev = c.classify(rec)
        if (!ev) continue
        seen.outcomes[ev.outcome]++
        if (ev.outcome === 'failed') seen.failures.push({ category: ev.category!, reason: ev.reason!, ip: ev.clientIp, user: ev.user, database: ev.database })
      }
      return { relay: r.name, totals: seen.totals(), outcomes: seen.outcomes }
    })
    if (process.env.CONNRCA_REALPG_DEBUG) console.error(JSON.stringify({ truth: { outcomes: truth.outcomes, totals: truth.totals() }, records: Object.fromEntries([...got].map(([k, v]) => [k, v.length])) }))
    for (const r of results) expect(r).toEqual({ relay: r.relay, totals: truth.totals(), outcomes: truth.outcomes })
    expect(rsyslog?.stderr() ?? '').toBe('')
  }, 180_000)
})
