/**
 * Notifications a day with fixed thresholds versus baselines, and whether every injected
 * incident is still found: on the bundled sample (as `connrca run` reads it), on the sample day
 * after three ordinary days of its background traffic, and on a generated week
 * (`baselineWeek`). `pnpm -s tsx scripts/baseline-report.ts [--quick]`.
 */
import {
  baselineReport,
  baselineWeek,
  defaultIncidents,
  renderBaselineReport,
  SAMPLE,
  SAMPLE_SERVERS,
  SAMPLE_THRESHOLDS,
} from '@connrca/cli'

const DAY = 86_400_000
/** The day the bundled sample covered before its dates followed the clock: the figures stay comparable. */
const START = Date.UTC(2026, 2, 2)
const quick = process.argv.includes('--quick')
const servers = SAMPLE_SERVERS.map((s) => s.name)

const cases = [
  {
    name: 'bundled sample (1 day, thresholds network 3, user_error 3)',
    servers,
    incidents: defaultIncidents(servers, START, SAMPLE.durationMs),
    ...SAMPLE,
    start: START,
    thresholds: SAMPLE_THRESHOLDS,
  },
  sampleAfterOrdinaryDays(3),
  { ...baselineWeek(START), start: START, durationMs: 7 * DAY, ratePerSec: 0.25 },
]

for (const c of quick ? cases.slice(2) : cases) {
  const t = performance.now()
  const r = await baselineReport(c)
  console.log(renderBaselineReport(r))
  console.log(`(${((performance.now() - t) / 1000).toFixed(1)} s)\n`)
}

/** The sample's story on day `n + 1`, after n days of only its all-day background streams; thresholds 1. */
function sampleAfterOrdinaryDays(n: number) {
  const start = START - n * DAY
  const durationMs = (n + 1) * DAY
  const background = defaultIncidents(servers, start, durationMs).filter((i) => i.durationMs === durationMs)
  const story = defaultIncidents(servers, START, DAY).filter((i) => i.durationMs < DAY)
  return {
    name: `bundled sample after ${n} ordinary days (thresholds 1)`,
    servers,
    incidents: [...background, ...story],
    start,
    durationMs,
    ratePerSec: 0.5,
    seed: SAMPLE.seed,
  }
}
