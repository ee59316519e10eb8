import type { ChildProcess } from 'node:child_process'
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prng } from '../support/prng.js'
import { type Positions, readPositions } from './support/checkpoint.js'
import { cutPoints, multiLineCuts, renderCorpus, SERVERS } from './support/corpus.js'
import { type Outcome, readOutcome } from './support/outcome.js'
import { exited, runConnrca, sleep, spawnConnrca } from './support/process.js'
import { seedFromEnv } from './support/seed.js'

// Issue 8: `connrca run` follows a growing file and is killed with SIGKILL at random moments,
// then restarted; afterwards the store must hold what one uninterrupted run on the same input
// stores. The seed fixes chunk cuts and kill moments (timing still varies a little with load).
const SEED = seedFromEnv()
const CHUNKS = 20
const MIN_KILLS = 5
const MAX_KILLS = 12
/** Kills that must cut a run after it committed progress and before the end of the file. */
const MIN_MID_STREAM = 3
/** Pause before a restart: the next child starts on a backlog. */
const DOWNTIME_MS: [number, number] = [0, 2000]
/** Time a child gets before new slices arrive: kills then land in start-up, catch-up or following. */
const SETTLE_MS: [number, number] = [300, 3000]
/** Slices appended per child, a short pause between them. */
const SLICES: [number, number] = [2, 5]
const GAP_MS: [number, number] = [100, 700]
/**
 * SIGKILL this long after the last append: the child is reading, storing or committing that
 * slice (it commits every second), or idle-flushing a record cut mid-way.
 */
const AFTER_APPEND_MS: [number, number] = [0, 1500]

interface Kill {
  lifetimeMs: number
  /** Bytes of each file written when the kill was sent. */
  written: Map<string, number>
  /** Checkpointed offsets read right after the child died. */
  positions: Positions
  /** Slices were still to come after this kill. */
  stillGrowing: boolean
  /** The checkpoint moved since the previous kill and lies inside a file: the child was cut mid-stream. */
  midStream: boolean
}

const rng = prng(SEED)
let home: string
let live: { config: string; data: string; files: Map<string, string> }
let ref: { config: string; data: string }
let corpus: ReturnType<typeof renderCorpus>
const kills: Kill[] = []
let finalRun: { code: number | null; stderr: string }
let crashed: Outcome
let reference: Outcome
let running: ChildProcess | undefined

async function setUp(dir: string) {
  const logs = join(dir, 'logs')
  const files = new Map<string, string>()
  for (const s of SERVERS) {
    await mkdir(join(logs, s), { recursive: true })
    files.set(s, join(logs, s, 'postgresql.log'))
  }
  const config = join(dir, 'connrca.yaml')
  // JSON is YAML: one source over both files, the server name taken from the directory.
  await writeFile(
    config,
    JSON.stringify({
      sources: [
        {
          type: 'file',
          paths: [join(logs, '*', 'postgresql.log')],
          serverFromPath: '/(?<server>[^/]+)/postgresql\\.log$',
        },
      ],
      api: { enabled: false },
    }),
  )
  return { config, data: join(dir, 'data'), files }
}

/** Appends the corpus to the live files in CHUNKS slices per file, both servers growing together. */
function sliceWriter() {
  const forced = corpus.map((c) => (c.server === 'billing-flex' ? multiLineCuts(c.text) : []))
  const cuts = corpus.map((c, k) => cutPoints(c.text.length, CHUNKS, rng, forced[k]))
  const written = new Map<string, number>(corpus.map((c) => [c.server, 0]))
  let next = 0
  return {
    remaining: () => CHUNKS - next,
    /**
     * The files end between the lines of a multi-line record. A follower releases a record once
     * its file was quiet for a second (line → event latency), so the loop never kills or pauses
     * here: the record is completed within that second. (A random cut inside a line needs no such
     * care: a record is held while the line after it is unfinished.)
     */
    endsMidRecord: () => next > 0 && forced.some((f, k) => f.includes(cuts[k][next - 1])),
    written: () => new Map(written),
    async append(): Promise<void> {
      for (const [k, c] of corpus.entries()) {
        const from = written.get(c.server)!
        const to = cuts[k][next]
        await appendFile(live.files.get(c.server)!, c.text.subarray(from, to))
        written.set(c.server, to)
      }
      next++
    },
  }
}

async function caughtUp(child: ReturnType<typeof spawnConnrca>): Promise<void> {
  while (!child.output().includes('following inputs')) await sleep(50)
}

function enoughKills(): boolean {
  return (
    kills.filter((k) => k.stillGrowing).length >= MIN_KILLS && kills.filter((k) => k.midStream).length >= MIN_MID_STREAM
  )
}

function isMidStream(positions: Positions, before: Positions): boolean {
  const sizes = new Map(corpus.map((c) => [live.files.get(c.server)!, c.text.length]))
  let advanced = false
  let inside = false
  for (const [path, offset] of positions) {
    if (offset > (before.get(path) ?? 0)) advanced = true
    if (offset > 0 && offset < (sizes.get(path) ?? 0)) inside = true
  }
  return advanced && inside
}

beforeAll(async () => {
  const t0 = performance.now()
  console.log(`crash test seed ${SEED} (CRASH_SEED=${SEED} replays the cuts and kill moments)`)
  home = await mkdtemp(join(tmpdir(), 'connrca-crash-'))
  corpus = renderCorpus()
  live = await setUp(join(home, 'live'))
  const r = await setUp(join(home, 'ref'))
  ref = { config: r.config, data: r.data }
  for (const c of corpus) await writeFile(r.files.get(c.server)!, c.text)
  // The uninterrupted reference runs beside the crash loop.
  const refRun = runConnrca(['run', '--once', '--config', ref.config, '--data-dir', ref.data])

  for (const c of corpus) await writeFile(live.files.get(c.server)!, '')
  const writer = sliceWriter()
  await writer.append()
  while (writer.endsMidRecord()) await writer.append()
  let before: Positions = new Map()
  while (writer.remaining() > 0 || !enoughKills()) {
    if (kills.length >= MAX_KILLS) break
    await sleep(rng.int(...DOWNTIME_MS))
    const child = spawnConnrca(['run', '--config', live.config, '--data-dir', live.data])
    running = child
    const born = performance.now()
    const died = exited(child).then(() => {
      throw new Error(`connrca run stopped by itself (exit ${child.exitCode}):\n${child.output()}`)
    })
    died.catch(() => {})
    // Slices kept back while mid-stream kills are still missing: each of those needs the file to
    // grow under a running child. When only those are left, the child first catches up and the
    // kill waits for a commit of the new slice (every second), so the slice is not spent on a
    // kill in start-up (seen on a loaded CI machine: 2 of 12 kills mid-stream, the rest idle).
    // One more slice stays back so that the last of these kills still hits a growing file.
    const missingMid = MIN_MID_STREAM - kills.filter((k) => k.midStream).length
    const missingKills = MIN_KILLS - kills.filter((k) => k.stillGrowing).length
    const reserve = enoughKills() ? 0 : Math.max(missingMid, missingKills, 0) + 1
    const scarce = writer.remaining() <= reserve
    // On a loaded machine start-up alone can outlast SETTLE_MS; after two kills that cut no
    // committed progress, the next child first catches up, so the run still gets mid-stream kills.
    const stalled = kills.length >= 2 && !kills.at(-1)!.midStream && !kills.at(-2)!.midStream
    if (scarce || stalled) await Promise.race([died, caughtUp(child)])
    await Promise.race([died, sleep(rng.int(...SETTLE_MS))])
    let slices = scarce ? Math.min(1, writer.remaining()) : Math.min(rng.int(...SLICES), writer.remaining() - reserve)
    while (slices-- > 0 || writer.endsMidRecord()) {
      await writer.append()
      const more = slices > 0 || writer.endsMidRecord()
      if (more) await Promise.race([died, sleep(writer.endsMidRecord() ? 100 : rng.int(...GAP_MS))])
    }
    await Promise.race([died, sleep(scarce ? 3000 : rng.int(...AFTER_APPEND_MS))])
    const written = writer.written()
    child.kill('SIGKILL')
    const { signal } = await exited(child)
    running = undefined
    if (signal !== 'SIGKILL') throw new Error(`connrca run ended with ${signal} instead of SIGKILL:\n${child.output()}`)
    const lifetimeMs = Math.round(performance.now() - born)
    const positions = await readPositions(live.data)
    const stillGrowing = writer.remaining() > 0
    const midStream = stillGrowing && isMidStream(positions, before)
    kills.push({ lifetimeMs, written, positions, stillGrowing, midStream })
    before = positions
    const cp = [...positions].map(([p, o]) => `${p.split('/').at(-2)}@${o}`).join(' ')
    const w = [...written].map(([s, n]) => `${s}@${n}`).join(' ')
    console.log(
      `kill ${kills.length} after ${lifetimeMs} ms${midStream ? ' (mid-stream)' : ''}: written ${w}; checkpoint ${cp || 'none'}`,
    )
  }
  while (writer.remaining() > 0) await writer.append()

  // Whatever the last child did not commit, a one-shot run picks up from the checkpoint.
  finalRun = await runConnrca(['run', '--once', '--config', live.config, '--data-dir', live.data])
  const refResult = await refRun
  if (refResult.code !== 0) throw new Error(`reference run failed:\n${refResult.stderr}`)
  crashed = await readOutcome(live.data)
  reference = await readOutcome(ref.data)
  const took = ((performance.now() - t0) / 1000).toFixed(1)
  const resumed = /caught up: [^\n]*/.exec(finalRun.stderr)?.[0]
  console.log(
    `${kills.length} kills; final run ${resumed}; rows ${JSON.stringify(crashed.raw)} vs reference ${JSON.stringify(reference.raw)}; ${took} s`,
  )
}, 300_000)

afterAll(async () => {
  if (running && running.exitCode === null && running.signalCode === null) {
    running.kill('SIGKILL')
    await exited(running)
  }
  if (home) await rm(home, { recursive: true, force: true })
})

describe(`connrca run killed with SIGKILL on a growing file (seed ${SEED})`, () => {
  it('was killed at least 5 times while the file grew, mid-stream, and resumed each time', () => {
    const sizes = new Map(corpus.map((c) => [c.server, c.text.length]))
    expect(kills.filter((k) => k.stillGrowing).length).toBeGreaterThanOrEqual(MIN_KILLS)
    let before: Positions = new Map()
    for (const k of kills) {
      for (const [path, offset] of k.positions) {
        const server = SERVERS.find((s) => path.endsWith(`/${s}/postgresql.log`))!
        // A checkpoint never claims bytes that were not written yet, and never moves back.
        expect(offset).toBeLessThanOrEqual(k.written.get(server)!)
        expect(offset).toBeLessThanOrEqual(sizes.get(server)!)
        expect(offset).toBeGreaterThanOrEqual(before.get(path) ?? 0)
      }
      before = k.positions
    }
    // Kills that land in start-up are fine, but several must cut a run that had committed progress.
    expect(kills.filter((k) => k.midStream).length).toBeGreaterThanOrEqual(MIN_MID_STREAM)
    expect(finalRun.code).toBe(0)
    const resumed = Number(/caught up: ([\d,]+) records/.exec(finalRun.stderr)?.[1]?.replaceAll(',', ''))
    const total = corpus.reduce((n, c) => n + c.lines, 0)
    expect(resumed).toBeLessThan(total / 2)
  })

  it('the reference run stored the failures the generator injected', () => {
    const truth = new Map<string, number>()
    for (const c of corpus)
      for (const [cat, n] of Object.entries(c.truth.failures[c.server] ?? {})) if (n) truth.set(`${c.server}/${cat}`, n)
    expect(reference.failures).toEqual(truth)
    expect(reference.rca.size).toBeGreaterThan(5)
  })

  it('stores the same failures per server and category, and per reason', () => {
    expect(crashed.failures).toEqual(reference.failures)
    expect(crashed.reasons).toEqual(reference.reasons)
  })

  it('stores the same latest window counts per server, category and window', () => {
    expect(crashed.windows).toEqual(reference.windows)
  })

  it('emits the same RCA events: ids, final status, counts, first and last failure', () => {
    expect(crashed.rca).toEqual(reference.rca)
  })

  it('renders the same RCA texts, windows and persistence', () => {
    expect(crashed.rcaDetail).toEqual(reference.rcaDetail)
  })

  it('keeps every connection event exactly once after dedup, and parses the same records', () => {
    expect(reference.raw.events).toBe(reference.raw.distinctIds)
    expect(crashed.raw.distinctIds).toBe(reference.raw.events)
    expect(crashed.raw.deadLetters).toBe(reference.raw.deadLetters)
  })
})
