import type { Category, ConnectionEvent, PipelineConfig, RcaEvent } from '@connrca/contracts'
import { classifiedEvents, incidentsOf, runStage } from './replay.js'
import type { InjectedIncident } from './types.js'

const DAY = 86_400_000

export interface BaselineCase {
  name: string
  servers: string[]
  incidents: InjectedIncident[]
  start: number
  durationMs: number
  ratePerSec: number
  seed?: number
  /** pipeline.thresholds: the fixed rule, and the floor of the baselines. */
  thresholds?: PipelineConfig['thresholds']
  /** The run's classified events when the caller has them already (classifiedEvents of the above). */
  events?: ConnectionEvent[]
}

export interface InjectedResult {
  server: string
  category: Category
  start: number
  /** The hypothesis the generator expects first, when it says. */
  expect?: string
  /** The top hypothesis of the incident holding most of its failures (undefined: not found). */
  diagnosed?: string
  found: boolean
}

export interface RuleResult {
  rule: 'fixed' | 'baseline'
  /** Incidents opened (one notification each) per day of the run, by category. */
  opened: Array<Partial<Record<Category, number>>>
  injected: InjectedResult[]
}

export interface BaselineReport {
  name: string
  days: number
  fixed: RuleResult
  baseline: RuleResult
}

/**
 * Replays a generated run twice through the window stage, with fixed thresholds and with
 * baselines (default settings, the fixed thresholds as floor), and counts per day the incidents
 * each opens, i.e. the notifications a route matching everything sends before grouping and
 * throttling. Injected incidents shorter than a day are the situations to find; longer ones
 * are the noise.
 */
export async function baselineReport(c: BaselineCase): Promise<BaselineReport> {
  const events = c.events ?? classifiedEvents(c)
  const days = Math.ceil(c.durationMs / DAY)
  const judge = async (rule: RuleResult['rule']): Promise<RuleResult> => {
    const rca = await runStage(events, {
      batch: 5000,
      thresholds: c.thresholds,
      baselines: { enabled: rule === 'baseline' },
    })
    return { rule, opened: openedPerDay(rca, c.start, days), injected: injectedResults(c.incidents, rca) }
  }
  return { name: c.name, days, fixed: await judge('fixed'), baseline: await judge('baseline') }
}

function openedPerDay(rca: RcaEvent[], start: number, days: number): RuleResult['opened'] {
  const out: RuleResult['opened'] = Array.from({ length: days }, () => ({}))
  for (const e of rca) {
    if (e.status !== 'open') continue
    const d = out[Math.floor((e.firstFailure - start) / DAY)]
    if (d && e.category) d[e.category] = (d[e.category] ?? 0) + 1
  }
  return out
}

function injectedResults(incidents: InjectedIncident[], rca: RcaEvent[]): InjectedResult[] {
  return incidents
    .filter((i) => i.durationMs < DAY)
    .map((inc) => {
      const main = incidentsOf(inc, rca).sort((a, b) => b.count - a.count)[0]
      return {
        server: inc.server,
        category: inc.category,
        start: inc.start,
        ...(inc.expect ? { expect: inc.expect } : {}),
        ...(main?.hypotheses?.[0] ? { diagnosed: main.hypotheses[0].id } : {}),
        found: main !== undefined,
      }
    })
}

const sum = (o: Partial<Record<Category, number>>) => Object.values(o).reduce((a, n) => a + (n ?? 0), 0)

/** A few lines of text: notifications per day for each rule, by category, and what was found. */
export function renderBaselineReport(r: BaselineReport): string {
  const dayCols = Array.from({ length: r.days }, (_, i) => `d${i + 1}`.padStart(5)).join('')
  const row = (label: string, values: number[], total: number) =>
    `${label.padEnd(22)}${values.map((v) => String(v).padStart(5)).join('')}${String(total).padStart(7)}  ${(total / r.days).toFixed(1).padStart(6)}/day`
  const cats = new Set<Category>()
  for (const rr of [r.fixed, r.baseline])
    for (const d of rr.opened) for (const c of Object.keys(d)) cats.add(c as Category)
  const lines = [`${r.name}: incidents opened (notifications) per day`, `${''.padEnd(22)}${dayCols}  total`]
  for (const rr of [r.fixed, r.baseline]) {
    const per = rr.opened.map(sum)
    lines.push(
      row(
        rr.rule,
        per,
        per.reduce((a, n) => a + n, 0),
      ),
    )
    for (const c of [...cats].sort()) {
      const v = rr.opened.map((d) => d[c] ?? 0)
      lines.push(
        row(
          `  ${c}`,
          v,
          v.reduce((a, n) => a + n, 0),
        ),
      )
    }
  }
  for (const rr of [r.fixed, r.baseline]) {
    const found = rr.injected.filter((i) => i.found).length
    const right = rr.injected.filter((i) => i.expect && i.diagnosed === i.expect).length
    const expected = rr.injected.filter((i) => i.expect).length
    const lost = rr.injected
      .filter((i) => !i.found)
      .map((i) => `${i.server} ${i.category} ${new Date(i.start).toISOString().slice(0, 16)}`)
    lines.push(
      `${rr.rule}: injected incidents found ${found}/${rr.injected.length}` +
        (expected ? `, diagnosed as injected ${right}/${expected}` : '') +
        (lost.length ? `; lost: ${lost.join(', ')}` : ''),
    )
  }
  return lines.join('\n')
}
