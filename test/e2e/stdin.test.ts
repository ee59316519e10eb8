import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { connrca } from '../support/cli.js'

// Issue 11, defect 1: chDB reads the process's stdin when an insert runs while stdin holds data
// ("Processing async inserts with both inlined and external data … is not supported"), so every
// store write failed when connrca had data on stdin: cron, CI, ssh, and `run -` itself.
const LOG = [
  '2026-03-02 10:00:00.100 UTC [11] [unknown]@[unknown] LOG:  connection received: host=81.2.69.7 port=50001',
  '2026-03-02 10:00:00.120 UTC [11] reporting@orders FATAL:  no pg_hba.conf entry for host "81.2.69.7", user "reporting", database "orders", no encryption',
  '2026-03-02 10:00:01.000 UTC [12] [unknown]@[unknown] LOG:  connection received: host=10.1.0.11 port=50002',
  '2026-03-02 10:00:01.010 UTC [12] app@orders FATAL:  password authentication failed for user "app"',
  '2026-03-02 10:00:03.000 UTC [14] app@orders FATAL:  sorry, too many clients already',
  '',
].join('\n')

async function storedFailures(dataDir: string): Promise<number> {
  const r = await connrca(['sql', '--data-dir', dataDir, '--format', 'json', "SELECT count() AS n FROM connection_events FINAL WHERE outcome = 'failed'"])
  expect(r.stderr).toBe('')
  return Number((JSON.parse(r.stdout) as { rows: [string | number][] }).rows[0][0])
}

describe('stdin with data never reaches the embedded store', () => {
  let dir: string
  let file: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'connrca-stdin-'))
    file = join(dir, 'postgresql.log')
    await writeFile(file, LOG)
  })

  it('echo x | connrca analyze --data-dir D file.log stores the file', async () => {
    const d = join(dir, 'analyze')
    const r = await connrca(['analyze', '--data-dir', d, '--json', file], { input: 'x\n' })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).outcomes.failed).toBe(3)
    expect(await storedFailures(d)).toBe(3)
  }, 60_000)

  it('connrca run - --once < file stores what came on stdin', async () => {
    const d = join(dir, 'run')
    const r = await connrca(['run', '-', '--once', '--data-dir', d], { input: LOG, env: { CONNRCA_API_PORT: '0' } })
    expect(r.stderr).not.toContain('async inserts')
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('caught up: 5 records')
    expect(await storedFailures(d)).toBe(3)
  }, 60_000)
})
