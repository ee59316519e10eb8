/**
 * `pnpm bench`: throughput and memory of connrca, side by side with pgBadger on the same file.
 * Results go to bench/results/<suite>.json; the README summarises them.
 *   --lines N       size of the parse/classify corpus (default 1,000,000)
 *   --big N         size of the large end-to-end run (default 10,000,000; 0 skips it)
 *   --no-pgbadger   skip the peer
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Classifier } from '@connrca/classifier'
import type { LogFormat, LogRecord } from '@connrca/contracts'
import { createParser, readLineBatches } from '@connrca/pglog'
import { DEFAULT_PREFIX, SAMPLE_SERVERS, writeLog } from '@connrca/cli'

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    big: { type: 'string', default: '10000000' },
    'no-pgbadger': { type: 'boolean', default: false },
  },
})
const ROOT = resolve(import.meta.dirname, '..')
const OUT = join(ROOT, 'bench', 'out')
const RESULTS = join(ROOT, 'bench', 'results')
mkdirSync(OUT, { recursive: true })
mkdirSync(RESULTS, { recursive: true })

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
}

const LINES = Number(values.lines)
const BIG = Number(values.big)
const START = Date.UTC(2026, 2, 2, 0, 0, 0)
const RATE = 100

async function corpus(format: 'stderr' | 'csvlog' | 'jsonlog', lines: number): Promise<string> {
  const ext = { stderr: 'log', csvlog: 'csv', jsonlog: 'json' }[format]
  const path = join(OUT, `corpus-${lines}.${ext}`)
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path}\n`)
    // The sample's three servers (so every failure kind is injected) at 100 lines/s each: the
    // duration follows from the line count, and the incidents scale with it.
    const durationMs = Math.round((lines / (3 * RATE)) * 1000)
    await writeLog(path, { servers: SAMPLE_SERVERS.map((s) => s.name), start: START, durationMs, ratePerSec: RATE, format, prefix: DEFAULT_PREFIX, seed: 42, incidents: 'default' })
  }
  return path
}

/** Parse + classify on this thread: the hot path alone, no store. */
async function parseClassify(path: string, format: LogFormat) {
  const classifier = new Classifier()
  let records = 0
  let events = 0
  let lines = 0
  const parser = createParser(
    { format, prefix: format === 'stderr' ? DEFAULT_PREFIX : undefined, source: { kind: 'file', name: path } },
    {
      record: (r: LogRecord) => {
        records++
        if (classifier.classify(r)) events++
      },
      deadLetter: () => {},
    },
  )
  const t0 = performance.now()
  for await (const b of readLineBatches(path)) {
    for (let i = 0; i < b.lines.length; i++) parser.push(b.lines[i], b.positions[i])
    lines += b.lines.length
  }
  parser.flush()
  const secs = (performance.now() - t0) / 1000
  const mb = statSync(path).size / 1e6
  return { lines, records, events, seconds: round(secs), linesPerSec: Math.round(lines / secs), mbPerSec: round(mb / secs) }
}

/** Runs a command under /usr/bin/time: wall seconds and peak RSS. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`)
  const last = r.stderr.trim().split('\n').pop() ?? ''
  const [wall, rssKb] = last.split(' ').map(Number)
  return { seconds: wall, peakRssMB: Math.round(rssKb / 1024), stdout: r.stdout }
}

const CLI = [join(ROOT, 'node_modules', '.bin', 'tsx'), join(ROOT, 'services', 'cli', 'src', 'main.ts')]

function analyze(path: string, extra: string[], dataDir?: string) {
  const args = [CLI[1], 'analyze', path, '--json', '--format', 'stderr', '--prefix', DEFAULT_PREFIX, ...extra]
  if (dataDir) args.push('--data-dir', dataDir)
  const m = measure(CLI[0], args)
  const report = JSON.parse(m.stdout)
  return {
    lines: report.lines as number,
    /** wall time of the whole command, process start to exit */
    seconds: m.seconds,
    /** inside the command: input read, stored and every window closed */
    analyzeMs: report.elapsedMs as number,
    /** inside the command: from the first line read to the last RCA event */
    timeToLastRcaMs: report.lastRcaMs as number | null,
    linesPerSec: Math.round(report.lines / m.seconds),
    peakRssMB: m.peakRssMB,
    incidents: report.incidents.length as number,
    failures: Object.values(report.totals as Record<string, { failures: number }>).reduce((a, t) => a + t.failures, 0),
  }
}

function round(x: number) {
  return Math.round(x * 100) / 100
}

function save(name: string, data: unknown) {
  writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify({ machine, ...(data as object) }, null, 2)}\n`)
}

const results: Record<string, unknown> = {}

// 1. parse + classify per format, one core
const parse: Record<string, unknown> = {}
for (const format of ['stderr', 'csvlog', 'jsonlog'] as const) {
  const path = await corpus(format, LINES)
  parse[format] = await parseClassify(path, format)
  process.stderr.write(`parse+classify ${format}: ${JSON.stringify(parse[format])}\n`)
}
save('parse-classify', { lines: LINES, formats: parse })
results.parse = parse

// 2. connrca analyze vs pgBadger, same stderr file, same run
const stderrPath = await corpus('stderr', LINES)
const noStore = analyze(stderrPath, ['--no-store'])
process.stderr.write(`connrca analyze --no-store: ${JSON.stringify(noStore)}\n`)
let pgbadger: { seconds: number; peakRssMB: number } | undefined
if (!values['no-pgbadger']) {
  const html = join(OUT, 'pgbadger.html')
  pgbadger = measure('pgbadger', ['-j', '1', '-f', 'stderr', '--prefix', DEFAULT_PREFIX, '-o', html, '--quiet', stderrPath])
  process.stderr.write(`pgbadger -j 1: ${JSON.stringify({ seconds: pgbadger.seconds, peakRssMB: pgbadger.peakRssMB })}\n`)
}
const peer = {
  lines: LINES,
  connrca: noStore,
  pgbadger: pgbadger && { seconds: pgbadger.seconds, linesPerSec: Math.round(LINES / pgbadger.seconds), peakRssMB: pgbadger.peakRssMB },
  ratio: pgbadger ? round(pgbadger.seconds / noStore.seconds) : undefined,
}
save('vs-pgbadger', peer)
results.peer = peer

// 3. end to end into chDB: 1M and the big file; memory must stay flat
const e2e: Record<string, unknown> = {}
for (const n of [LINES, BIG].filter((x) => x > 0)) {
  const path = await corpus('stderr', n)
  const dataDir = join(OUT, `chdb-${n}`)
  execFileSync('rm', ['-rf', dataDir])
  e2e[String(n)] = analyze(path, [], dataDir)
  process.stderr.write(`connrca analyze into chDB, ${n} lines: ${JSON.stringify(e2e[String(n)])}\n`)
}
save('end-to-end-embedded', { runs: e2e })
results.e2e = e2e

process.stdout.write(`${JSON.stringify({ machine, ...results }, null, 2)}\n`)
