import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '@connrca/store'
import { renderCorpus } from './corpus.js'
import { exited, runConnrca, sleep, spawnConnrca, stop, until } from './process.js'

const SERVER = 'billing-flex'

/**
 * How the writer and the follower interleave around one multi-line record (FATAL, DETAIL and its
 * tab-indented continuation) when the file first ends right after the FATAL line:
 * - `no-crash`: one follower throughout; the rest of the record follows 300 ms later.
 * - `kill-then-rest`: the follower is killed while the file ends mid-record, the rest is written
 *   while it is down, then it restarts.
 * - `restart-mid-record`: the follower is killed, restarts while the file still ends mid-record,
 *   and the rest arrives 200 ms after the restarted follower caught up.
 */
export type Interleaving = 'no-crash' | 'kill-then-rest' | 'restart-mid-record'

export interface ReasonCounts {
  /** reason -> failed attempts */
  reasons: Record<string, number>
  deadLetters: number
}

async function reasonCounts(dataDir: string): Promise<ReasonCounts> {
  const store = await openStore({ dataDir })
  try {
    const rows = await store.query<{ reason: string; n: string }>(
      `SELECT reason, count() AS n FROM connection_events FINAL WHERE outcome = 'failed' GROUP BY reason ORDER BY reason`,
    )
    const [dl] = await store.query<{ n: string }>('SELECT count() AS n FROM dead_letters')
    return { reasons: Object.fromEntries(rows.map((r) => [r.reason, Number(r.n)])), deadLetters: Number(dl.n) }
  } finally {
    await store.close()
  }
}

/** Runs one interleaving and a one-shot reference on the complete file; returns both stores' reason counts. */
export async function partialRecordScenario(
  kind: Interleaving,
): Promise<{ live: ReasonCounts; reference: ReasonCounts }> {
  const [{ text }] = renderCorpus({ servers: [SERVER], durationMs: 2 * 3_600_000, ratePerSec: 4 })
  const s = text.toString('latin1')
  const fatal = s.indexOf('FATAL:  password authentication failed')
  const cut = s.indexOf('\n', fatal) + 1
  if (fatal < 0 || !s.slice(cut, s.indexOf('\n', cut)).includes(' DETAIL:  ')) {
    throw new Error('corpus: no password failure followed by its DETAIL line')
  }
  const home = await mkdtemp(join(tmpdir(), 'connrca-partial-'))
  try {
    const dir = join(home, SERVER)
    await mkdir(dir)
    const file = join(dir, 'postgresql.log')
    const refFile = join(home, 'reference.log')
    await writeFile(refFile, text)
    const args = (f: string, data: string) => ['run', f, '--server', SERVER, '--data-dir', join(home, data)]
    const ref = await runConnrca([...args(refFile, 'ref'), '--once'])
    if (ref.code !== 0) throw new Error(`reference run failed:\n${ref.stderr}`)

    await writeFile(file, '')
    const first = spawnConnrca(args(file, 'live'))
    await until(first, 'following inputs')
    await appendFile(file, text.subarray(0, cut))
    if (kind === 'no-crash') {
      await sleep(300)
      await appendFile(file, text.subarray(cut))
      await sleep(2500)
      await stop(first)
    } else {
      // Read, not yet idle-flushed (that takes a second without growth), maybe not committed.
      await sleep(500)
      first.kill('SIGKILL')
      await exited(first)
      if (kind === 'kill-then-rest') await appendFile(file, text.subarray(cut))
      const second = spawnConnrca(args(file, 'live'))
      await until(second, 'following inputs')
      if (kind === 'restart-mid-record') {
        await sleep(200)
        await appendFile(file, text.subarray(cut))
      }
      await sleep(2500)
      await stop(second)
    }
    return { live: await reasonCounts(join(home, 'live')), reference: await reasonCounts(join(home, 'ref')) }
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}
