/**
 * `pnpm bench`: throughput and memory of connrca, side by side with pgBadger on the same file.
 * Results go to bench/results/<suite>.json; the README summarises them.
 *   --lines N       size of the parse/classify corpus (default 1,000,000)
 *   --big N         size of the large end-to-end run (default 10,000,000; 0 skips it)
 *   --no-pgbadger   skip the peer
 *   --no-kafka      skip the Kafka-mode suite (bench/kafka.ts; needs a broker: KAFKA_BROKERS, or
 *                   Java to start infra/kafka/broker.sh)
 *   --kafka-lines N size of the Kafka-mode corpus (default 1,000,000)
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Classifier } from '@connrca/classifier'
import type { LogFormat, LogRecord } from '@connrca/contracts'
import { createParser, readLineBatches } from '@connrca/pglog'
import { DEFAULT_PREFIX, SAMPLE_SERVERS, writeLog } from '@connrca/cli'
import { machine, saveResult } from './results.js'

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    big: { type: 'string', default: '10000000' },
    'no-pgbadger': { type: 'boolean', default: false },
    'no-kafka': { type: 'boolean', default: false },
    'kafka-lines': { type: 'string', default: '1000000' },
  },
})
const ROOT = resolve(import.meta.dirname, '..')
const OUT = join(ROOT, 'bench', 'out')
mkdirSync(OUT, { recursive: true })

const LINES = Number(values.lines)
const BIG = Number(values.big)
const START = Date.UTC(2026, 2, 2, 0, 0, 0)
const DAY = 86_400_000

async function corpus(format: 'stderr' | 'csvlog' | 'jsonlog', lines: number): Promise<string> {
  const ext = { stderr: 'log', csvlog: 'csv', jsonlog: 'json' }[format]
  const path = join(OUT, `corpus-1d-${lines}.${ext}`)
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path}\n`)
    // One day of the sample's three servers, so every injected incident has its real size; the
    // line count sets the traffic rate (1 M lines: ~3.9 lines/s per server; 10 M: ~39).
    const ratePerSec = lines / (3 * (DAY / 1000))
    await writeLog(path, {
      servers: SAMPLE_SERVERS.map((s) => s.name),
      start: START,
      durationMs: DAY,
      ratePerSec,
      format,
      prefix: DEFAULT_PREFIX,
      seed: 42,
      incidents: 'default',
    })
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
  return {
    lines,
    records,
    events,
    seconds: round(secs),
    linesPerSec: Math.round(lines / secs),
    mbPerSec: round(mb / secs),
  }
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

function analyze(path: string, format: LogFormat, extra: string[], dataDir?: string) {
  const args = [CLI[1], 'analyze', path, '--json', '--format', format, ...prefixArgs(format), ...extra]
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
    failures: report.outcomes.failed as number,
  }
}

/** `connrca run --once`: the main job catching up on a file, checkpoints every second as in production. */
function runCatchUp(path: string, lines: number, dataDir: string) {
  const m = measure(
    CLI[0],
    [CLI[1], 'run', path, '--once', '--format', 'stderr', '--prefix', DEFAULT_PREFIX, '--data-dir', dataDir],
    { CONNRCA_API_PORT: '0' },
  )
  return { lines, seconds: m.seconds, linesPerSec: Math.round(lines / m.seconds), peakRssMB: m.peakRssMB }
}

function prefixArgs(format: LogFormat): string[] {
  return format === 'stderr' ? ['--prefix', DEFAULT_PREFIX] : []
}

const PGBADGER_FORMAT: Record<string, string> = { stderr: 'stderr', csvlog: 'csv', jsonlog: 'jsonlog' }

function round(x: number) {
  return Math.round(x * 100) / 100
}

const results: Record<string, unknown> = {}

// 1. parse + classify per format, one core
const parse: Record<string, unknown> = {}
for (const format of ['stderr', 'csvlog', 'jsonlog'] as const) {
  const path = await corpus(format, LINES)
  parse[format] = await parseClassify(path, format)
  process.stderr.write(`parse+classify ${format}: ${JSON.stringify(parse[format])}\n`)
}
saveResult('parse-classify', { lines: LINES, formats: parse })
results.parse = parse

// 2. connrca analyze vs pgBadger, same file, same run, one core each (pgbadger -j 1)
const peer: Record<string, unknown> = {}
for (const format of ['stderr', 'csvlog', 'jsonlog'] as const) {
  const path = await corpus(format, LINES)
  const connrca = analyze(path, format, ['--no-store'])
  process.stderr.write(`connrca analyze --no-store ${format}: ${JSON.stringify(connrca)}\n`)
  let pgbadger: { seconds: number; linesPerSec: number; peakRssMB: number } | undefined
  if (!values['no-pgbadger']) {
    const html = join(OUT, `pgbadger-${format}.html`)
    const args = ['-j', '1', '-f', PGBADGER_FORMAT[format], ...prefixArgs(format), '-o', html, '--quiet', path]
    const m = measure('pgbadger', args)
    pgbadger = { seconds: m.seconds, linesPerSec: Math.round(connrca.lines / m.seconds), peakRssMB: m.peakRssMB }
    process.stderr.write(`pgbadger -j 1 ${format}: ${JSON.stringify(pgbadger)}\n`)
  }
  peer[format] = { connrca, pgbadger, ratio: pgbadger ? round(pgbadger.seconds / connrca.seconds) : undefined }
}
saveResult('vs-pgbadger', { lines: LINES, formats: peer })
results.peer = peer

// 3. end to end into chDB: analyze and run catch-up, 1M and the big file; memory must stay flat
const e2e: Record<string, unknown> = {}
for (const n of [LINES, BIG].filter((x) => x > 0)) {
  const path = await corpus('stderr', n)
  const dataDir = join(OUT, `chdb-${n}`)
  execFileSync('rm', ['-rf', dataDir])
  const a = analyze(path, 'stderr', [], dataDir)
  process.stderr.write(`connrca analyze into chDB, ${n} lines: ${JSON.stringify(a)}\n`)
  execFileSync('rm', ['-rf', dataDir])
  const r = runCatchUp(path, a.lines, dataDir)
  process.stderr.write(`connrca run --once into chDB, ${n} lines: ${JSON.stringify(r)}\n`)
  e2e[String(n)] = { analyze: a, run: r }
}
saveResult('end-to-end-embedded', { runs: e2e })
results.e2e = e2e

// 4. Kafka mode: collector → classifier → aggregator → store as separate processes, 1× and 2×
if (!values['no-kafka']) {
  const { kafkaSuite } = await import('./kafka.js')
  const kafka = await kafkaSuite({ lines: Number(values['kafka-lines']) })
  saveResult('kafka', kafka)
  results.kafka = kafka
}

process.stdout.write(`${JSON.stringify({ machine, ...results }, null, 2)}\n`)
