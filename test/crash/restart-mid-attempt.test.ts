import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '@connrca/store'
import { afterAll, describe, expect, it } from 'vitest'
import { sleep, spawnConnrca, stop, until } from './support/process.js'

// Regression (CI, kill9 seed 49305804): the checkpoint held source positions and window state
// but not the classifier's memory. A restart that resumed between `connection received` and the
// TLS failure of the same backend lost the client address (the prefix of that test has no %h),
// so "Most failures came from 10.20.5.77" counted one attempt fewer than an uninterrupted run.
describe('a restart between connection received and the failure of the same backend', () => {
  let home = ''
  afterAll(() => rm(home, { recursive: true, force: true }))

  it('still names the client of the failed attempt', async () => {
    home = await mkdtemp(join(tmpdir(), 'connrca-mid-attempt-'))
    const file = join(home, 'postgresql.log')
    const args = ['run', file, '--server', 'billing-flex', '--data-dir', join(home, 'data')]
    await writeFile(file, '')

    const first = spawnConnrca(args)
    await until(first, 'following inputs')
    await appendFile(file, '2026-03-02 00:45:01.120 UTC [4711] LOG:  connection received: host=10.20.5.77 port=50123\n')
    await sleep(2500) // committed (every second), and nothing is held back
    await stop(first)

    await appendFile(
      file,
      '2026-03-02 00:45:01.130 UTC [4711] LOG:  could not accept SSL connection: unsupported protocol\n',
    )
    const second = spawnConnrca(args)
    await until(second, 'following inputs')
    await sleep(2500)
    await stop(second)

    const store = await openStore({ dataDir: join(home, 'data') })
    try {
      const rows = await store.query<{ category: string; client_ip: string | null }>(
        `SELECT category, client_ip FROM connection_events FINAL WHERE outcome = 'failed'`,
      )
      expect(rows).toEqual([{ category: 'tls_reject', client_ip: '10.20.5.77' }])
    } finally {
      await store.close()
    }
  }, 60_000)
})
