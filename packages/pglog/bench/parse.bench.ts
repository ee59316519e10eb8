// Micro benchmark: parse throughput of stderr, csvlog and jsonlog on generated connection-log lines.
// Run: npx tsx packages/pglog/bench/parse.bench.ts [lines] [stderr|csvlog|jsonlog]
// Reports lines per CPU-second (robust on a shared machine) and per wall-second.
import type { LogRecord } from '@connrca/contracts'
import { createParser, type LogFormat } from '../src/index.js'

const N = Number(process.argv[2] ?? 1_000_000)

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0')
}

/** Deterministic pseudo-random numbers so runs are comparable. */
let seed = 42
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed % n
}

interface Event {
  ts: string
  pid: number
  user: string
  db: string
  ip: string
  port: number
  sev: string
  msg: string
  detail?: string
}

function* events(n: number): Generator<Event> {
  const base = Date.UTC(2026, 2, 2, 10, 0, 0)
  for (let i = 0; i < n; i++) {
    const d = new Date(base + i * 3) // ~330 lines per second
    const ts = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} UTC`
    const pid = 10000 + rnd(500)
    const ip = `10.0.${rnd(4)}.${rnd(250)}`
    const port = 40000 + rnd(20000)
    const user = ['app', 'report', 'postgres', 'etl'][rnd(4)]
    const db = ['orders', 'users', 'postgres'][rnd(3)]
    const k = rnd(10)
    if (k < 4)
      yield { ts, pid, user: '', db: '', ip, port, sev: 'LOG', msg: `connection received: host=${ip} port=${port}` }
    else if (k < 7)
      yield {
        ts,
        pid,
        user,
        db,
        ip,
        port,
        sev: 'LOG',
        msg: `connection authorized: user=${user} database=${db} application_name=psql`,
      }
    else if (k < 9)
      yield {
        ts,
        pid,
        user,
        db,
        ip,
        port,
        sev: 'FATAL',
        msg: `password authentication failed for user "${user}"`,
        detail: `Connection matched file "/etc/postgresql/16/main/pg_hba.conf" line 99: "host all all 0.0.0.0/0 scram-sha-256"`,
      }
    else
      yield {
        ts,
        pid,
        user,
        db,
        ip,
        port,
        sev: 'LOG',
        msg: `disconnection: session time: 0:00:01.234 user=${user} database=${db} host=${ip} port=${port}`,
      }
  }
}

function stderrLines(n: number): string[] {
  const out: string[] = []
  for (const e of events(n)) {
    if (out.length >= n) break
    const who = e.user ? `${e.user}@${e.db} ` : '[unknown]@[unknown] '
    out.push(`${e.ts} [${e.pid}] ${who}${e.sev}:  ${e.msg}`)
    if (e.detail) out.push(`${e.ts} [${e.pid}] ${who}DETAIL:  ${e.detail}`)
  }
  return out
}

function csv(v: string): string {
  return `"${v.replaceAll('"', '""')}"`
}

function csvLines(n: number): string[] {
  const out: string[] = []
  for (const e of events(n)) {
    out.push(
      [
        e.ts,
        e.user && csv(e.user),
        e.db && csv(e.db),
        e.pid,
        csv(`${e.ip}:${e.port}`),
        '65e2f0a1.2710',
        1,
        csv('authentication'),
        e.ts,
        '3/1',
        0,
        e.sev,
        e.sev === 'FATAL' ? '28P01' : '00000',
        csv(e.msg),
        e.detail ? csv(e.detail) : '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        csv('psql'),
        csv('client backend'),
        '',
        '0',
      ].join(','),
    )
  }
  return out
}

function jsonLines(n: number): string[] {
  const out: string[] = []
  for (const e of events(n)) {
    out.push(
      JSON.stringify({
        timestamp: e.ts,
        user: e.user || undefined,
        dbname: e.db || undefined,
        pid: e.pid,
        remote_host: e.ip,
        remote_port: e.port,
        session_id: '65e2f0a1.2710',
        line_num: 1,
        ps: 'authentication',
        session_start: e.ts,
        vxid: '3/1',
        txid: 0,
        error_severity: e.sev,
        state_code: e.sev === 'FATAL' ? '28P01' : '00000',
        message: e.msg,
        detail: e.detail,
        application_name: 'psql',
        backend_type: 'client backend',
        query_id: 0,
      }),
    )
  }
  return out
}

/** Lines as readLines delivers them: decoded one by one from a byte buffer (flat strings, not template ropes). */
function asRead(lines: string[]): string[] {
  const buf = Buffer.from(lines.join('\n'))
  const out: string[] = []
  let st = 0
  for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, st)) {
    out.push(buf.toString('utf8', st, nl))
    st = nl + 1
  }
  out.push(buf.toString('utf8', st))
  return out
}

function run(format: Exclude<LogFormat, 'auto'>, generated: string[], prefix?: string): void {
  const lines = asRead(generated)
  let recs = 0
  let dead = 0
  let bytes = 0
  for (const l of lines) bytes += l.length + 1
  const sink = { record: (_r: LogRecord) => void recs++, deadLetter: () => void dead++ }
  // one warm-up pass so the JIT has seen the code, then the measured pass
  for (const measured of [false, true]) {
    recs = 0
    dead = 0
    const p = createParser({ format, prefix, source: { kind: 'file', name: `/bench/${format}.log` } }, sink)
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    let pos = 0
    for (const l of lines) {
      p.push(l, pos)
      pos += l.length + 1
    }
    p.flush()
    const wall = (performance.now() - t0) / 1000
    const cu = process.cpuUsage(c0)
    // CPU time of this thread's process: robust on a shared machine where wall time includes waiting for a core
    const s = (cu.user + cu.system) / 1e6
    if (measured)
      console.log(
        `${format.padEnd(8)} ${lines.length.toLocaleString('en')} lines  ${Math.round(lines.length / s).toLocaleString('en')} lines/cpu-s  ` +
          `(wall ${Math.round(lines.length / wall).toLocaleString('en')} lines/s)  ` +
          `${(bytes / s / 1e6).toFixed(0)} MB/s  records ${recs.toLocaleString('en')}  dead ${dead}`,
      )
  }
}

const only = process.argv[3] // optional: stderr | csvlog | jsonlog
if (!only || only === 'stderr') run('stderr', stderrLines(N), '%m [%p] %q%u@%d ')
if (!only || only === 'csvlog') run('csvlog', csvLines(Math.round(N / 2)))
if (!only || only === 'jsonlog') run('jsonlog', jsonLines(Math.round(N / 2)))
