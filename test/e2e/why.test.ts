import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_PREFIX,
  diagnosisScenarios,
  type GroundTruth,
  writeLog,
} from '../../services/cli/src/generate/index.js'
import { connrca } from '../support/cli.js'
import { type ClickHouseFrontProcess, spawnClickHouseFront } from '../support/clickhouse-front-process.js'

// `connrca why` from the store: one server with password guessing and a moved egress range at
// 04:00, analysed into the embedded store and into a ClickHouse server (the chDB HTTP front).
const start = Date.UTC(2026, 2, 2)
const HOUR = 3_600_000
const picked = diagnosisScenarios(start).filter(
  (s) => s.name === 'password guessing' || s.name === 'moved egress range',
)
const incidents = picked.flatMap((s) => s.incidents)
const UNTIL = '2026-03-02T05:00:00Z'

describe('connrca why', () => {
  const home = mkdtempSync(join(tmpdir(), 'connrca-why-'))
  const file = join(home, 'orders-prod.log')
  let truth: GroundTruth
  let embedded: string

  beforeAll(async () => {
    truth = await writeLog(file, {
      servers: ['orders-prod'],
      start,
      durationMs: 5 * HOUR,
      ratePerSec: 2,
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
      incidents,
    })
    const r = await connrca(['analyze', file, '--server', 'orders-prod', '--data-dir', join(home, 'data')])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  }, 120_000)
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it('ranks the causes by failures, with the likely cause, its evidence, clients and steps, in one screen', async () => {
    const r = await connrca(['why', 'orders-prod', '--since', '2h', '--until', UNTIL, '--data-dir', join(home, 'data')])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    embedded = r.stdout
    const fw = truth.failures['orders-prod'].firewall_deny!
    const auth = truth.failures['orders-prod'].auth_fail!
    expect(fw).toBeGreaterThan(auth) // the ranking below depends on it
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toBe('Why connections to orders-prod failed, 2026-03-02 03:00 – 2026-03-02 05:00 UTC')
    const heads = lines.filter((l) => /^\d+\. /.test(l))
    expect(heads).toEqual([
      `1. firewall_deny: ${fw} failures, 1 incident`,
      `2. auth_fail: ${auth} failures, 1 incident`,
    ])
    const at = (h: string) => lines.indexOf(h)
    expect(lines[at(heads[0]) + 1]).toBe('   Likely: new clients or a moved egress address (score 0.95)')
    expect(lines[at(heads[1]) + 1]).toBe(
      `   [security] Likely: password guessing from 203.0.113.7: ${auth} attempts on 37 user names (score 0.95)`,
    )
    expect(r.stdout).toContain(`evidence: attempts ${auth} · userNames 37`)
    expect(r.stdout).toMatch(/clients: 203\.0\.113\.7 \(\d+\)/)
    expect(r.stdout).toMatch(/clients: 81\.2\.69\.\d+ \(\d+\), 81\.2\.69\./)
    expect(r.stdout).toContain('→ Block 203.0.113.7 in front of the server')
    // one screen
    expect(lines.length).toBeLessThanOrEqual(40)
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100)
  }, 60_000)

  it('--json carries the same answer; a range without failures says so; bad options end in one line', async () => {
    const j = await connrca(['why', '--since', '2h', '--until', UNTIL, '--json', '--data-dir', join(home, 'data')])
    expect(j.code).toBe(0)
    const report = JSON.parse(j.stdout)
    expect(
      report.causes.map((c: { category: string; hypothesis?: { id: string } }) => [c.category, c.hypothesis?.id]),
    ).toEqual([
      ['firewall_deny', 'new_clients'],
      ['auth_fail', 'password_guessing'],
    ])
    const quiet = await connrca([
      'why',
      '--since',
      '1h',
      '--until',
      '2026-03-02T02:00:00Z',
      '--data-dir',
      join(home, 'data'),
    ])
    expect(quiet.stdout).toContain('No failed connections in this range.')
    const bad = await connrca(['why', '--since', 'soon', '--data-dir', join(home, 'data')])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe('connrca: --since: expected a duration such as 1h, 30m or 2d, got "soon"\n')
  }, 60_000)

  describe('against a ClickHouse server', () => {
    let front: ClickHouseFrontProcess
    beforeAll(async () => {
      front = await spawnClickHouseFront({ dataDir: join(home, 'server') })
    }, 60_000)
    afterAll(async () => front?.close())

    it('gives the same screen as the embedded store', async () => {
      const env = { CONNRCA_STORE_URL: front.url }
      const a = await connrca(['analyze', file, '--server', 'orders-prod'], { env })
      expect(a.code).toBe(0)
      const r = await connrca(['why', 'orders-prod', '--since', '2h', '--until', UNTIL], { env })
      // (stderr carries @clickhouse/client's own request_timeout warning for every server store)
      expect(r.code).toBe(0)
      expect(r.stdout).toBe(embedded)
    }, 120_000)
  })
})
