import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { createParser, readLines } from '@connrca/pglog'
import { describe, expect, it } from 'vitest'
import { Classifier } from '../src/index.js'

// Real logs from public projects (see shared/real_logs/INDEX.md), read in place.
// (next to the checkout; a worktree may sit one level deeper)
const ROOT =
  process.env.CONNRCA_REAL_LOGS ??
  [4, 5].map((up) => resolve(dirname(fileURLToPath(import.meta.url)), `${'../'.repeat(up)}shared/real_logs`)).find(existsSync) ??
  '/nonexistent'

type Counts = { received: number; authorized: number; closed: number; failed: number }

async function classifyFile(rel: string): Promise<{ counts: Counts; deadRaw: Set<string> }> {
  const c = new Classifier()
  const counts: Counts = { received: 0, authorized: 0, closed: 0, failed: 0 }
  const deadRaw = new Set<string>()
  const p = createParser(
    { format: 'auto', source: { kind: 'file', name: rel } },
    {
      record: (r) => {
        const ev = c.classify(r)
        if (ev) counts[ev.outcome]++
      },
      deadLetter: (d) => {
        for (const line of d.raw.split('\n')) deadRaw.add(line)
      },
    },
  )
  for await (const { line, position } of readLines(join(ROOT, rel))) p.push(line, position)
  p.flush()
  return { counts, deadRaw }
}

// Counted from the raw text, independently of the parser: a failure is a line with one of the
// connection-failure texts at FATAL/LOG; consecutive failure lines of one pid are one attempt.
const FAILURE =
  /\b(FATAL|LOG)\b.*(password authentication failed|authentication failed for user|no pg_hba\.conf entry|pg_hba\.conf rejects|role "+[^"]*"+ does not exist|database "+[^"]*"+ does not exist|the database system is (starting up|shutting down|in recovery mode|not yet accepting)|sorry, too many clients|remaining connection slots|too many connections for|incomplete startup packet|could not receive data from client|could not send data to client|unexpected EOF on client connection|could not accept SSL connection|connection to client lost|terminating connection due to administrator command)/
const PID = /\[(\d+)[\]-]|"process_id":"?(\d+)|postgres\[(\d+)\]|^\d{4}-\d\d-\d\d [^,]*,[^,]*,[^,]*,(\d+),/

function rawCounts(text: string, dead: Set<string>): Counts {
  const counts: Counts = { received: 0, authorized: 0, closed: 0, failed: 0 }
  let lastFailedPid: string | undefined
  for (const line of text.split(/\r?\n/)) {
    if (dead.has(line)) continue
    if (line.includes('connection received: ')) counts.received++
    if (line.includes('connection authorized: ')) counts.authorized++
    if (line.includes('disconnection: session time')) counts.closed++
    if (FAILURE.test(line)) {
      const m = PID.exec(line)
      const pid = m ? (m[1] ?? m[2] ?? m[3] ?? m[4]) : undefined
      if (pid === undefined || pid !== lastFailedPid) counts.failed++
      lastFailedPid = pid
    }
  }
  return counts
}

function raw(rel: string): string {
  const b = readFileSync(join(ROOT, rel))
  return (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8')
}

const files = existsSync(ROOT)
  ? ['filebeat', 'pgbadger'].flatMap((d) =>
      readdirSync(join(ROOT, d))
        .filter((f) => !f.endsWith('.json'))
        .map((f) => `${d}/${f}`),
    )
  : []

describe.runIf(files.length > 0)('real logs through pglog + classifier', () => {
  const totals: Counts = { received: 0, authorized: 0, closed: 0, failed: 0 }

  it.each(files)('%s: connection events match the raw text', async (rel) => {
    const { counts, deadRaw } = await classifyFile(rel)
    expect(counts).toEqual(rawCounts(raw(rel), deadRaw))
    for (const k of Object.keys(totals) as Array<keyof Counts>) totals[k] += counts[k]
  })

  it('the corpus exercises every outcome', () => {
    expect(totals.received).toBeGreaterThan(300)
    expect(totals.authorized).toBeGreaterThan(300)
    expect(totals.closed).toBeGreaterThan(300)
    expect(totals.failed).toBeGreaterThan(25)
  })
})
