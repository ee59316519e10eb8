/**
 * `pnpm bench:profile [FILE]`: where the hot path (read → parse → classify) spends its time.
 * V8's sampling profiler over one pass of a corpus (default: the 1 M-line stderr bench corpus; a
 * .csv file is read as csvlog, a .json file as jsonlog); prints self time per function and writes
 * bench/results/profile.json.
 */
import { Session } from 'node:inspector/promises'
import { join, resolve } from 'node:path'
import { Classifier, mayClassify } from '@connrca/classifier'
import { createParser, feedFile } from '@connrca/pglog'
import { DEFAULT_PREFIX } from '@connrca/cli'
import { saveResult } from './results.js'

const ROOT = resolve(import.meta.dirname, '..')
const file = process.argv[2] ?? join(ROOT, 'bench', 'out', 'corpus-1d-1000000.log')
const format = file.endsWith('.csv') ? 'csvlog' : file.endsWith('.json') ? 'jsonlog' : 'stderr'

async function pass(): Promise<number> {
  const classifier = new Classifier()
  const parser = createParser(
    {
      format,
      prefix: format === 'stderr' ? DEFAULT_PREFIX : undefined,
      source: { kind: 'file', name: file },
      relevant: mayClassify,
    },
    { record: (r) => void classifier.classify(r), deadLetter: () => {} },
  )
  const lines = await feedFile(file, parser)
  parser.flush()
  return lines
}

await pass() // warm-up: profile optimized code, not the JIT's first tiers

const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.setSamplingInterval', { interval: 100 })
await session.post('Profiler.start')
const t0 = performance.now()
const lines = await pass()
const seconds = (performance.now() - t0) / 1000
const { profile } = await session.post('Profiler.stop')
session.disconnect()

// Self time per function: samples whose top frame is the node.
const self = new Map<number, number>()
for (const id of profile.samples ?? []) self.set(id, (self.get(id) ?? 0) + 1)
const byFunction = new Map<string, number>()
for (const node of profile.nodes) {
  const n = self.get(node.id)
  if (!n) continue
  const f = node.callFrame
  // tsx's transpiled modules do not keep function line numbers: the file names the place
  const where = f.url.replace(/^.*\/(packages|services|node_modules|bench)\//, '$1/')
  const name = `${f.functionName || '(anonymous)'} ${where}`.trim()
  byFunction.set(name, (byFunction.get(name) ?? 0) + n)
}
const total = profile.samples?.length ?? 1
const top = [...byFunction]
  .sort((a, b) => b[1] - a[1])
  .slice(0, 20)
  .map(([fn, n]) => ({ fn, selfPct: Math.round((n / total) * 1000) / 10 }))

const result = {
  file,
  format,
  lines,
  seconds: Math.round(seconds * 100) / 100,
  linesPerSec: Math.round(lines / seconds),
  top,
}
saveResult('profile', result)
process.stdout.write(`${lines} lines in ${result.seconds} s (${result.linesPerSec} lines/s)\n`)
for (const t of top) process.stdout.write(`${String(t.selfPct).padStart(5)}%  ${t.fn}\n`)
