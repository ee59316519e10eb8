import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GroundTruth } from '@connrca/cli'
import { ConnectionEvent } from '@connrca/contracts'
import { beforeAll, describe, expect, it } from 'vitest'
import { connrca } from '../support/cli.js'

const LOG = [
  '2026-03-02 10:00:00.100 UTC [11] [unknown]@[unknown] LOG:  connection received: host=81.2.69.7 port=50001',
  '2026-03-02 10:00:00.120 UTC [11] reporting@orders FATAL:  no pg_hba.conf entry for host "81.2.69.7", user "reporting", database "orders", no encryption',
  '2026-03-02 10:00:01.000 UTC [12] [unknown]@[unknown] LOG:  connection received: host=10.1.0.11 port=50002',
  '2026-03-02 10:00:01.010 UTC [12] app@orders FATAL:  password authentication failed for user "app"',
  '2026-03-02 10:00:01.010 UTC [12] app@orders DETAIL:  Connection matched pg_hba.conf line 99: "host all all 0.0.0.0/0 scram-sha-256"',
  '2026-03-02 10:00:02.000 UTC [13] app@orders LOG:  duration: 1.234 ms  statement: SELECT 1',
  '2026-03-02 10:00:03.000 UTC [14] app@orders FATAL:  sorry, too many clients already',
  'this line is not a log line at all',
  '',
].join('\n')

describe('connrca CLI', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'connrca-cli-'))
  })

  it('classify: stdin to one JSON connection event per line, non-connection lines dropped', async () => {
    const r = await connrca(['classify', '--server', 'orders-prod'], { input: LOG })
    expect(r.code).toBe(0)
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => ConnectionEvent.parse(JSON.parse(l)))
    expect(events.map((e) => [e.outcome, e.category ?? null])).toEqual([
      ['received', null],
      ['failed', 'firewall_deny'],
      ['received', null],
      ['failed', 'auth_fail'],
      ['failed', 'limit_reached'],
    ])
    expect(events[1]).toMatchObject({
      server: 'orders-prod',
      clientIp: '81.2.69.7',
      user: 'reporting',
      database: 'orders',
    })
    expect(r.stderr).toContain('unparsed line')
  })

  it('analyze --json: totals keyed by category, unparsed lines counted', async () => {
    const file = join(dir, 'small.log')
    await import('node:fs/promises').then((fs) => fs.writeFile(file, LOG))
    const r = await connrca(['analyze', file, '--json', '--no-store', '--server', 'orders-prod'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(Object.keys(report.totals).sort()).toEqual(['auth_fail', 'firewall_deny', 'limit_reached'])
    expect(report.totals.firewall_deny.failures).toBe(1)
    expect(report.totals.firewall_deny.topClients).toEqual([{ value: '81.2.69.7', count: 1 }])
    expect(report.unparsed).toBe(1)
    expect(report.outcomes).toEqual({ received: 2, authorized: 0, failed: 3, closed: 0 })
  })

  it('analyze agrees with the generator on a generated log (every format)', async () => {
    for (const format of ['stderr', 'csvlog', 'jsonlog'] as const) {
      const file = join(dir, `gen.${format}`)
      const truthFile = join(dir, `gen.${format}.truth.json`)
      const g = await connrca([
        'generate',
        '--servers',
        'orders-prod',
        '--duration',
        '2h',
        '--rate',
        '5',
        '--format',
        format,
        '--start',
        '2026-03-02T09:00:00Z',
        '--out',
        file,
        '--truth',
        truthFile,
      ])
      expect(g.code).toBe(0)
      const truth = JSON.parse(await readFile(truthFile, 'utf8')) as GroundTruth
      const r = await connrca(['analyze', file, '--json', '--no-store', '--server', 'orders-prod'])
      expect(r.code, r.stderr).toBe(0)
      const report = JSON.parse(r.stdout)
      const got = Object.fromEntries(
        Object.entries(report.totals as Record<string, { failures: number }>).map(([c, t]) => [c, t.failures]),
      )
      expect(got, format).toEqual(truth.failures['orders-prod'])
      expect(report.unparsed, format).toBe(0)
    }
  }, 120_000)

  it('one clear line for what a user gets wrong', async () => {
    const missing = await connrca(['analyze', join(dir, 'nope.log')])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toBe(`connrca: cannot read ${join(dir, 'nope.log')}: ENOENT`)
    const format = await connrca(['classify', '--format', 'xml'])
    expect(format.code).toBe(2)
    expect(format.stderr).toMatch(/^connrca: unknown format "xml"/)
    const prefix = await connrca(['classify', '--prefix', '%Z'])
    expect(prefix.code).toBe(1)
    expect(prefix.stderr.trim().split('\n')).toHaveLength(1)
    expect(prefix.stderr).toContain("unknown escape '%Z'")
    const badConfig = join(dir, 'bad.yaml')
    await import('node:fs/promises').then((fs) => fs.writeFile(badConfig, 'pipeline:\n  window: five minutes\n'))
    const cfg = await connrca(['analyze', '--no-store', '--config', badConfig, join(dir, 'small.log')])
    expect(cfg.code).toBe(1)
    expect(cfg.stderr).toMatch(/bad\.yaml: pipeline\.window: /)
    // in the config, the same mistakes name the file and the key
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(badConfig, "sources:\n  - { type: file, paths: ['/x.log'], prefix: '%Z' }\n"),
    )
    const cfgPrefix = await connrca(['run', '--once', '--config', badConfig])
    expect(cfgPrefix.code).toBe(1)
    expect(cfgPrefix.stderr.trim()).toMatch(/^connrca: \S*bad\.yaml: sources\.0\.prefix: .*unknown escape '%Z'/)
    await import('node:fs/promises').then((fs) => fs.writeFile(badConfig, 'sorces:\n  - { type: file, paths: [/x.log] }\n'))
    const typo = await connrca(['run', '--once', '--config', badConfig])
    expect(typo.code).toBe(1)
    expect(typo.stderr.trim()).toMatch(/^connrca: \S*bad\.yaml: sorces: unknown key \(did you mean "sources"\?\)$/)
    // an unreachable ClickHouse server: one line, no client WARN or stack trace before it
    const unreachable = await connrca(['why'], { env: { CONNRCA_STORE_URL: 'http://127.0.0.1:1' } })
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toBe('connrca: store: cannot reach ClickHouse at http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n')
    for (const r of [missing, format, prefix, cfg, cfgPrefix, typo]) expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('generate refuses contradictory or malformed options, and a terminal as its output', async () => {
    for (const [args, message] of [
      [['--out', join(dir, 'a.log'), '--dir', dir], 'give --out FILE or --dir DIR, not both'],
      [['--format', 'csvlog', '--prefix', '%m '], '--prefix applies to --format stderr only'],
      [['--servers', '0'], '--servers: expected a count above 0'],
      [['--seed', 'abc'], '--seed: expected a whole number'],
      [['extra'], 'unexpected argument "extra"'],
    ] as const) {
      const r = await connrca(['generate', ...args])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toContain(message)
      expect(r.stdout).toBe('')
    }
    // a pseudo-terminal on stdout (util-linux `script`): one line instead of ~75 MB
    const { execFileSync } = await import('node:child_process')
    const { connrcaNodeArgs } = await import('../support/cli.js')
    const quoted = [process.execPath, ...connrcaNodeArgs(['generate'])].map((a) => `'${a}'`).join(' ')
    let out = ''
    try {
      out = execFileSync('script', ['-qec', quoted, '/dev/null'], { encoding: 'utf8', env: { ...process.env, CONNRCA_API_PORT: '0' } })
    } catch (err) {
      out = (err as { stdout: string }).stdout
    }
    expect(out.length).toBeLessThan(2000)
    expect(out).toContain('stdout, which is a terminal: give --out FILE or --dir DIR, or pipe it')
  }, 60_000)

  it('classify reads gzip on stdin, and caps repeated unparsed-line messages with a hint', async () => {
    const { gzipSync } = await import('node:zlib')
    const plain = await connrca(['classify', '--server', 'orders-prod'], { input: LOG })
    const gz = await connrca(['classify', '--server', 'orders-prod'], { input: gzipSync(LOG) })
    expect(gz.code, gz.stderr).toBe(0)
    expect(gz.stdout).toBe(plain.stdout)
    expect(gz.stdout.trim().split('\n')).toHaveLength(5)

    const odd = ['[2026-03-02T10:00:00Z] pid=12 FATAL:  password authentication failed for user "app"', 'Mar  2 10:00:00 db1 custom| x']
    const r = await connrca(['classify'], { input: `${Array(30).fill(odd.join('\n')).join('\n')}\n` })
    expect(r.code).toBe(0)
    const lines = r.stderr.trim().split('\n')
    // three per reason, then one count and one hint, instead of 60 lines
    expect(lines).toHaveLength(8)
    expect(lines[6]).toBe('connrca: 54 more unparsed lines not shown (60 in all)')
    expect(lines[7]).toMatch(/^connrca: hint: give the server's log_line_prefix with --prefix/)
  })

  it('analyze says why lines were not parsed: reasons with a sample line and a hint', async () => {
    const file = join(dir, 'odd.log')
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(
        file,
        '[2026-03-02T10:00:00Z] pid=12 FATAL:  password authentication failed for user "app"\n[2026-03-02T10:00:01Z] pid=13 FATAL:  password authentication failed for user "app"\n',
      ),
    )
    const text = await connrca(['analyze', file, '--no-store'])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain('unparsed lines (2), most frequent reasons:')
    expect(text.stdout).toContain('e.g. [2026-03-02T10:00:00Z] pid=12 FATAL:  password authentication failed for user "app"')
    expect(text.stdout).toMatch(/hint: give the server's log_line_prefix with --prefix/)
    const json = JSON.parse((await connrca(['analyze', file, '--no-store', '--json'])).stdout)
    expect(json.unparsed).toBe(2)
    expect(json.unparsedReasons).toHaveLength(1)
    expect(json.unparsedReasons[0].count).toBe(2)
    // with the right prefix nothing is left unexplained
    const ok = await connrca(['analyze', file, '--no-store', '--prefix', '[%m] pid=%p '])
    expect(ok.stdout).not.toContain('unparsed lines (')
  })

  it('--help prints the command usage on stdout and exits 0', async () => {
    const version = await connrca(['--version'])
    expect(version.stdout).toMatch(/^connrca \d+\.\d+\.\d+\n$/)
    const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
    for (const cmd of ['run', 'analyze', 'classify', 'generate', 'why', 'sql', 'notify', 'migrate', 'service', 'azure']) {
      const r = await connrca([cmd, '--help'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`^usage: connrca ${cmd} `))
      expect(r.stderr).toBe('')
      // every option of the usage line, and of the README's commands table, is described
      const [usage] = r.stdout.split('\n')
      const rows = readme.split('\n').filter((l) => l.startsWith(`| \`connrca ${cmd} `) || l.startsWith(`| \`connrca ${cmd}\``))
      expect(rows.length, `README row for ${cmd}`).toBe(1)
      const flags = new Set([...usage.matchAll(/--([a-z-]+)/g), ...rows[0].split('` |')[0].matchAll(/--([a-z-]+)/g)].map((m) => m[1]))
      for (const flag of flags) expect(r.stdout, `${cmd} --${flag}`).toMatch(new RegExp(`^  --${flag}\\b.* \\S`, 'm'))
    }
  })

  it('sql: reads the store, refuses writes with a clear message', async () => {
    const data = join(dir, 'data')
    const a = await connrca(['analyze', join(dir, 'small.log'), '--server', 'orders-prod', '--data-dir', data])
    expect(a.code, a.stderr).toBe(0)
    const q = await connrca([
      'sql',
      "SELECT category, count() AS n FROM connection_events FINAL WHERE outcome = 'failed' GROUP BY category ORDER BY category",
      '--format',
      'json',
      '--data-dir',
      data,
    ])
    expect(q.code, q.stderr).toBe(0)
    expect(JSON.parse(q.stdout).rows).toEqual([
      ['auth_fail', '1'],
      ['firewall_deny', '1'],
      ['limit_reached', '1'],
    ])
    const w = await connrca(['sql', 'DROP TABLE connection_events', '--data-dir', data])
    expect(w.code).toBe(1)
    expect(w.stderr).toMatch(/^connrca: refused: /)
    const again = await connrca(['sql', 'SELECT count() FROM connection_events', '--format', 'csv', '--data-dir', data])
    expect(again.stdout.trim().split('\n')[1]).toBe('5')
  }, 60_000)
})
