// Classifier throughput on realistic records: `npx tsx packages/classifier/bench/classify.bench.ts [lines]`
// Records come from the project's log generator (normal traffic + the sample incidents) parsed by pglog.
import type { LogRecord } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import { generateLines } from '../../../services/cli/src/generate/index.js'
import { Classifier } from '../src/index.js'

const targetLines = Number(process.argv[2] ?? 1_000_000)
const ratePerSec = 40
const servers = ['orders-prod', 'billing-flex', 'analytics-citus']
const durationMs = Math.ceil((targetLines / (ratePerSec * servers.length)) * 1000)
const start = Date.UTC(2024, 4, 1)

const records: LogRecord[] = []
const parser = createParser(
  { format: 'stderr', prefix: '%m [%p] %q%u@%d ', server: 'bench', source: { kind: 'file', name: 'bench.log' } },
  { record: (r) => records.push(r), deadLetter: () => {} },
)
let lines = 0
let pos = 0
for (const line of generateLines({ servers, start, durationMs, ratePerSec, format: 'stderr', incidents: 'default' })) {
  parser.push(line, pos)
  pos += line.length + 1
  lines++
}
parser.flush()

function run(): { ms: number; events: number; failed: number } {
  const c = new Classifier()
  let events = 0
  let failed = 0
  const t0 = performance.now()
  for (let i = 0; i < records.length; i++) {
    const ev = c.classify(records[i])
    if (ev) {
      events++
      if (ev.outcome === 'failed') failed++
    }
  }
  return { ms: performance.now() - t0, events, failed }
}

run() // warm-up
const runs = [run(), run(), run()]
const best = runs.reduce((a, b) => (a.ms < b.ms ? a : b))
const rate = Math.round(records.length / (best.ms / 1000))
console.log(
  `classify: ${records.length} records (${lines} lines), ${best.events} connection events, ${best.failed} failed; ` +
    `best of 3: ${best.ms.toFixed(0)} ms = ${rate.toLocaleString('en')} records/s`,
)
