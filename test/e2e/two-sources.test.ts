import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_PREFIX, type GroundTruth, type InjectedIncident, SYSLOG_PREFIX, writeLog } from '@connrca/cli'
import { countsByServerCategory, openStore } from '@connrca/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connrca, startConnrca } from '../support/cli.js'
import { freePort } from '../support/free-port.js'

// Several kinds of source feeding one `connrca run` from its connrca.yaml: a log file (server
// pg-a), a syslog relay over TCP (pg-b) and an HTTP push (pg-c). Listener sources never "catch
// up", so the run is not --once: the data is sent while it runs, the test waits (through the
// run's own SQL API, as chDB allows one process per data dir) until the failures are in, then
// stops it with SIGTERM and compares the store with what the generator injected.

const MIN = 60_000
const TOKEN = 'two-sources-push-token'
// Recent, so RFC 3164 syslog times (no year) land in this year.
const START = Math.floor((Date.now() - 3 * 3_600_000) / MIN) * MIN
const DURATION = 90 * MIN

let home: string
let dataDir: string
let config: string
let syslogPort: number
let httpPort: number
const truths: GroundTruth[] = []
let child: ReturnType<typeof startConnrca> | undefined

function incidents(server: string, offset: number): InjectedIncident[] {
  const at = (m: number) => START + (m + offset) * MIN
  return [
    {
      server,
      category: 'firewall_deny',
      start: at(5),
      durationMs: 20 * MIN,
      perMinute: 6,
      clients: ['81.2.69.10', '81.2.69.77'],
    },
    { server, category: 'auth_fail', start: at(30), durationMs: 15 * MIN, perMinute: 4 },
    { server, category: 'limit_reached', start: at(50), durationMs: 10 * MIN, perMinute: 8 },
    { server, category: 'network', start: at(65), durationMs: 10 * MIN, perMinute: 3 },
    { server, category: 'tls_reject', start: at(12), durationMs: 30 * MIN, perMinute: 1 },
    { server, category: 'transient', start: at(40), durationMs: 3 * MIN, perMinute: 20 },
    { server, category: 'user_error', start: at(0), durationMs: 80 * MIN, perMinute: 0.5 },
  ]
}


function expectedCounts(): Map<string, number> {
  const m = new Map<string, number>()
  for (const t of truths)
    for (const [server, cats] of Object.entries(t.failures))
      for (const [category, n] of Object.entries(cats)) if (n) m.set(`${server}/${category}`, n)
  return m
}

const total = () => [...expectedCounts().values()].reduce((a, b) => a + b, 0)

/** Lines of the child's stderr as they come, and a way to wait for one. */
function watch(proc: NonNullable<typeof child>) {
  let stderr = ''
  const waiters: Array<{ re: RegExp; done: (m: RegExpMatchArray) => void }> = []
  proc.stderr.on('data', (d) => {
    stderr += d
    for (const w of [...waiters]) {
      const m = stderr.match(w.re)
      if (m) {
        waiters.splice(waiters.indexOf(w), 1)
        w.done(m)
      }
    }
  })
  return {
    text: () => stderr,
    waitFor: (re: RegExp, ms: number) =>
      new Promise<RegExpMatchArray>((done, fail) => {
        const m = stderr.match(re)
        if (m) return done(m)
        const timer = setTimeout(() => fail(new Error(`timed out waiting for ${re} in:\n${stderr}`)), ms)
        waiters.push({
          re,
          done: (x) => {
            clearTimeout(timer)
            done(x)
          },
        })
      }),
  }
}

async function sendSyslog(port: number, text: string): Promise<void> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((r, f) => socket.once('connect', r).once('error', f))
  await new Promise<void>((r) => socket.end(text, r))
}

async function failedInStore(api: string): Promise<number> {
  const res = await fetch(`${api}/api/v1/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: "SELECT count() AS n FROM connection_events FINAL WHERE outcome = 'failed'" }),
  })
  if (!res.ok) throw new Error(`sql api: ${res.status} ${await res.text()}`)
  const body = (await res.json()) as { rows: unknown[] }
  const row = body.rows[0] as Record<string, unknown> | unknown[]
  return Number(Array.isArray(row) ? row[0] : row.n)
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'connrca-two-sources-'))
  dataDir = join(home, 'data')
  syslogPort = await freePort()
  httpPort = await freePort()
  const gen = { start: START, durationMs: DURATION, ratePerSec: 2 }
  truths.push(
    await writeLog(join(home, 'pg-a', 'postgresql.log'), {
      ...gen,
      servers: ['pg-a'],
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
      incidents: incidents('pg-a', 0),
      seed: 1,
    }),
    await writeLog(join(home, 'relay', 'pg-b.syslog'), {
      ...gen,
      servers: ['pg-b'],
      format: 'syslog',
      prefix: SYSLOG_PREFIX,
      incidents: incidents('pg-b', 3),
      seed: 2,
    }),
    await writeLog(join(home, 'push', 'pg-c.log'), {
      ...gen,
      servers: ['pg-c'],
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
      incidents: incidents('pg-c', 7),
      seed: 3,
    }),
  )
  config = join(home, 'connrca.yaml')
  writeFileSync(
    config,
    stringify({
      sources: [
        {
          type: 'file',
          name: 'pg-a-file',
          paths: [join(home, 'pg-a', '*.log')],
          server: 'pg-a',
          format: 'stderr',
          prefix: DEFAULT_PREFIX,
        },
        { type: 'syslog', name: 'relay', tcp: { host: '127.0.0.1', port: syslogPort }, prefix: SYSLOG_PREFIX },
        {
          type: 'http',
          name: 'push',
          host: '127.0.0.1',
          port: httpPort,
          tokenEnv: 'TEST_PUSH_TOKEN',
          format: 'stderr',
          prefix: DEFAULT_PREFIX,
        },
      ],
    }),
  )
}, 60_000)

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL')
})

describe('one connrca run fed by a file, a syslog relay and an HTTP push', () => {
  it('stores exactly the injected failures of every server, whichever source brought them', async () => {
    child = startConnrca(['run', '--config', config, '--data-dir', dataDir], { env: { TEST_PUSH_TOKEN: TOKEN } })
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)))
    const err = watch(child)
    // The file source has caught up once the dashboard (and its SQL API) is announced.
    const [, api] = await err.waitFor(/dashboard: (http:\/\/[^/\s]+)/, 90_000)
    await err.waitFor(/following inputs/, 10_000)

    await sendSyslog(syslogPort, readFileSync(join(home, 'relay', 'pg-b.syslog'), 'utf8'))
    const res = await fetch(`http://127.0.0.1:${httpPort}/v1/logs?server=pg-c`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
      body: readFileSync(join(home, 'push', 'pg-c.log')),
    })
    expect(res.status).toBe(202)
    const pushed = (await res.json()) as { accepted: number; deadLetters: number }
    expect(pushed.deadLetters).toBe(0)
    expect(pushed.accepted).toBe(truths[2].totals!.records)

    // Rows reach the store at the run's once-a-second commit; syslog has no acknowledgement.
    const deadline = Date.now() + 60_000
    let seen = -1
    while (Date.now() < deadline) {
      seen = await failedInStore(api)
      if (seen >= total()) break
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(seen, err.text()).toBe(total())

    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(err.text()).not.toMatch(/commit failed|dead-letter|Error:/)

    const store = await openStore({ dataDir })
    try {
      const rows = await countsByServerCategory(store)
      const stored = new Map(rows.map((r) => [`${r.server}/${r.category}`, r.failures]))
      expect(stored).toEqual(expectedCounts())
      expect(new Set(rows.map((r) => r.server))).toEqual(new Set(['pg-a', 'pg-b', 'pg-c']))
    } finally {
      await store.close()
    }
  }, 180_000)

  it('a restart with --once reads no record again (the file position was saved at SIGTERM)', async () => {
    const before = expectedCounts()
    const r = await connrca(['run', '--once', '--config', config, '--data-dir', dataDir], {
      env: { TEST_PUSH_TOKEN: TOKEN },
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/caught up: 0 records/)
    const store = await openStore({ dataDir })
    try {
      const rows = await countsByServerCategory(store)
      expect(new Map(rows.map((x) => [`${x.server}/${x.category}`, x.failures]))).toEqual(before)
    } finally {
      await store.close()
    }
  }, 120_000)
})
