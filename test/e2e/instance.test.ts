/**
 * One running instance, many commands (issue 14): while `connrca run` holds the data directory,
 * `connrca sql` goes through its API (found through the state file it writes there) and the
 * commands that need the directory itself say in one line what holds it and what to do, instead
 * of the engine's "Cannot lock file … status" exception.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connrca, startConnrca } from '../support/cli.js'

const LOG = [
  '2026-03-02 10:00:00.100 UTC [11] [unknown]@[unknown] LOG:  connection received: host=81.2.69.7 port=50001',
  '2026-03-02 10:00:00.120 UTC [11] reporting@orders FATAL:  no pg_hba.conf entry for host "81.2.69.7", user "reporting", database "orders", no encryption',
  '2026-03-02 10:00:01.010 UTC [12] app@orders FATAL:  password authentication failed for user "app"',
  '',
].join('\n')

let dir: string
let dataDir: string
let child: ReturnType<typeof startConnrca> | undefined
let stderr = ''

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connrca-instance-'))
  dataDir = join(dir, 'data')
  await writeFile(join(dir, 'pg.log'), LOG)
  child = startConnrca(['run', join(dir, 'pg.log'), '--server', 'orders-prod', '--data-dir', dataDir])
  child.stderr!.on('data', (d) => (stderr += d))
  const deadline = Date.now() + 90_000
  while (!/following inputs/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
  expect(stderr).toMatch(/following inputs/)
}, 120_000)

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL')
})

describe('commands while connrca run holds the data directory', () => {
  it('run writes the state file with its pid and API address', () => {
    expect(existsSync(join(dataDir, 'connrca-instance.json'))).toBe(true)
  })

  it('sql goes through the running instance API and prints the same result', async () => {
    const failed = () =>
      connrca([
        'sql',
        "SELECT count() AS n FROM connection_events FINAL WHERE outcome = 'failed'",
        '--format',
        'json',
        '--data-dir',
        dataDir,
      ])
    // rows reach the store at the run's once-a-second commit
    let r = await failed()
    for (let i = 0; i < 20 && r.code === 0 && JSON.parse(r.stdout).rows[0][0] !== '2'; i++) {
      await new Promise((res) => setTimeout(res, 500))
      r = await failed()
    }
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).rows).toEqual([['2']])
    expect(r.stderr).not.toMatch(/Cannot lock|DB::Exception/)
    const refused = await connrca(['sql', 'DROP TABLE connection_events', '--data-dir', dataDir])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^connrca: refused: DROP is not allowed/)
  }, 60_000)

  it('the others say in one line what holds the directory and what to do', async () => {
    const pid = String(child!.pid)
    for (const args of [
      ['why', '--data-dir', dataDir],
      ['analyze', join(dir, 'pg.log'), '--data-dir', dataDir],
      ['migrate', '--data-dir', dataDir],
      ['run', join(dir, 'pg.log'), '--once', '--data-dir', dataDir],
    ]) {
      const r = await connrca(args)
      expect(r.code, args[0]).toBe(1)
      const lines = r.stderr.trim().split('\n')
      expect(lines, args[0]).toHaveLength(1)
      expect(lines[0]).toMatch(
        new RegExp(
          `^connrca: the data directory .* is in use by process ${pid} \\(connrca run, API http://127\\.0\\.0\\.1:\\d+\\): \\S`,
        ),
      )
    }
  }, 120_000)

  it('the state file goes when run stops; then the directory opens directly', async () => {
    const exited = new Promise((r) => child!.once('exit', r))
    child!.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(existsSync(join(dataDir, 'connrca-instance.json'))).toBe(false)
    const r = await connrca([
      'sql',
      "SELECT count() FROM connection_events FINAL WHERE outcome = 'failed'",
      '--format',
      'csv',
      '--data-dir',
      dataDir,
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n')[1]).toBe('2')
  }, 60_000)
})

describe('run --port / --host', () => {
  async function stderrUntil(args: string[], pattern: RegExp): Promise<string> {
    const c = startConnrca(args)
    let text = ''
    c.stderr!.on('data', (d) => (text += d))
    const deadline = Date.now() + 60_000
    while (!pattern.test(text) && c.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    const exited = new Promise((r) => c.once('exit', r))
    c.kill('SIGTERM')
    await exited
    return text
  }

  it('serves on the given port, and says how to pick another when it is busy', async () => {
    const { createServer } = await import('node:net')
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const busy = (blocker.address() as { port: number }).port
    try {
      const log = join(dir, 'pg.log')
      const refused = await stderrUntil(['run', log, '--port', String(busy), '--data-dir', join(dir, 'd-busy')], /following inputs/)
      expect(refused).toContain(`dashboard and API not started: api: cannot listen on 127.0.0.1:${busy}: EADDRINUSE (another port: --port N, or --port 0 for any free one)`)
      blocker.close()
      await new Promise((r) => setTimeout(r, 100))
      const served = await stderrUntil(['run', log, '--host', '127.0.0.1', '--port', String(busy), '--data-dir', join(dir, 'd-free')], /dashboard: /)
      expect(served).toContain(`dashboard: http://127.0.0.1:${busy}/`)
      const bad = await connrca(['run', log, '--port', 'http'])
      expect(bad.code).toBe(2)
      expect(bad.stderr.trim()).toBe('connrca: --port: expected 0-65535, got "http"')
    } finally {
      blocker.close()
    }
  }, 120_000)
})
