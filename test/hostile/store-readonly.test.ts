// Crash safety of the embedded store on a hostile disk: an unusable data directory, a read-only
// one, and a full disk. Tests run as root, where chmod stops nothing, so:
//   - read-only = `chattr -R +i` (immutable; root cannot write either), undone in afterAll;
//   - disk full = RLIMIT_FSIZE (`ulimit -f`) on a child process with SIGXFSZ ignored, so writes
//     past the limit fail with EFBIG as they would with ENOSPC.
// chDB allows one data directory per process, so everything touching chDB runs in a child.

import { execFileSync, spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { openStore } from '@connrca/store'
import { afterAll, describe, expect, it } from 'vitest'
import { tmpDir } from './support.js'

const repo = path.resolve(import.meta.dirname, '../..')
const tsx = path.join(repo, 'node_modules/.bin/tsx')
const child = path.join(import.meta.dirname, 'fixtures/store-child.ts')

interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  out: { ok: boolean; name?: string; error?: string; rows?: number; ids?: number }
  stderr: string
}

/** Runs the store child; `fsizeKb` caps every file it writes (ulimit -f, SIGXFSZ ignored). */
function run(args: string[], fsizeKb?: number): ChildResult {
  const cmd = [tsx, child, ...args].map((a) => `'${a}'`).join(' ')
  const script = fsizeKb === undefined ? `exec ${cmd}` : `ulimit -f ${fsizeKb}; trap '' XFSZ; exec ${cmd}`
  const r = spawnSync('bash', ['-c', script], { cwd: repo, encoding: 'utf8', timeout: 60_000 })
  const last = r.stdout.trim().split('\n').at(-1) ?? ''
  let out: ChildResult['out']
  try {
    out = JSON.parse(last)
  } catch {
    out = { ok: false, error: `no JSON from child: ${r.stdout.slice(-300)} ${r.stderr.slice(-300)}` }
  }
  return { code: r.status, signal: r.signal, out, stderr: r.stderr }
}

/** A crash leaves a signal, a native stack or a JS stack behind; a clean stop leaves none. */
function expectCleanStop(r: ChildResult): void {
  expect(r.signal, r.stderr).toBeNull()
  expect([0, 1]).toContain(r.code)
  expect(r.stderr).not.toMatch(/Segmentation fault|Aborted|core dumped|terminate called|^\s+at \S+ \(|#\d+ 0x/m)
}

const locked: string[] = []
afterAll(() => {
  for (const d of locked) spawnSync('chattr', ['-R', '-i', d])
})

describe('store on a hostile disk', () => {
  it('a data dir below a regular file: one clear line naming the path, nothing thrown later', async () => {
    const file = path.join(tmpDir('connrca-hostile-file-'), 'not-a-dir')
    writeFileSync(file, 'x')
    for (const dataDir of [path.join(file, 'data'), file]) {
      let err: unknown
      try {
        const s = await openStore({ dataDir })
        await s.close()
      } catch (e) {
        err = e
      }
      expect(err, dataDir).toBeInstanceOf(Error)
      const msg = (err as Error).message
      expect(msg).toContain(file)
      expect(msg).not.toContain('\n')
    }
  })

  it('a read-only (immutable) data dir: StoreError in one line, clean exit, data intact once writable again', () => {
    const dir = path.join(tmpDir('connrca-hostile-ro-'), 'data')
    const first = run(['write', dir, '1000', '0'])
    expect(first.out).toEqual({ ok: true })
    execFileSync('bash', ['-c', `chattr -R +i '${dir}' 2>/dev/null; true`])
    locked.push(dir)

    for (const args of [
      ['write', dir, '1000', '1000'],
      ['count', dir],
    ]) {
      const r = run(args)
      expectCleanStop(r)
      if (r.out.ok) continue // reading an immutable store may work; writing must not
      expect(r.code).toBe(1)
      expect(r.out.name).toBe('StoreError')
      expect(r.out.error).toContain(dir)
      expect(r.out.error).not.toContain('\n')
    }
    const w = run(['write', dir, '1000', '1000'])
    expect(w.out.ok).toBe(false)

    execFileSync('bash', ['-c', `chattr -R -i '${dir}' 2>/dev/null; true`])
    const after = run(['count', dir])
    expect(after.out).toEqual({ ok: true, rows: 1000, ids: 1000 })
    rmSync(path.dirname(dir), { recursive: true, force: true })
  }, 60_000)

  it('a full disk (file-size limit): the writer stops cleanly, a restart opens the store with earlier data intact', () => {
    const dir = path.join(tmpDir('connrca-hostile-full-'), 'data')
    expect(run(['write', dir, '1000', '0']).out).toEqual({ ok: true })
    const full = run(['write', dir, '200000', '1000'], 200)
    expectCleanStop(full)
    const after = run(['count', dir])
    expectCleanStop(after)
    expect(after.out.ok, after.out.error).toBe(true)
    expect(after.out.rows).toBeGreaterThanOrEqual(1000)
    expect(after.out.ids).toBe(after.out.rows)
    // still writable after the disk has room again
    expect(run(['write', dir, '10', '900000']).out).toEqual({ ok: true })
    expect(run(['count', dir]).out.rows).toBe((after.out.rows ?? 0) + 10)
    rmSync(path.dirname(dir), { recursive: true, force: true })
  }, 60_000)
})
