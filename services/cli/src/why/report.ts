import type { Category, Hypothesis, RcaEvent, TopEntry } from '@connrca/contracts'
import { countsByServerCategory, latestRcaEvents, type Store } from '@connrca/store'
import { fmt } from '../output.js'

/** One cause on one server in the range, with the diagnosis of its largest incident. */
export interface WhyCause {
  server: string
  category: Category
  failures: number
  incidents: number
  clients: TopEntry[]
  /** The largest incident overlapping the range. */
  incident?: { id: string; title: string; status: RcaEvent['status']; severity: RcaEvent['severity'] }
  hypothesis?: Hypothesis
  /** Steps of the hypothesis, else of the incident. */
  steps: string[]
}

export interface WhyReport {
  server?: string
  from: number
  to: number
  causes: WhyCause[]
}

/** Causes with most failures first; at most this many, so the answer fits one screen. */
const MAX_CAUSES = 5
const CLIENTS = 5

/** Failures per server × cause from the raw events, clients per cause, the diagnosis from the RCA events. */
export async function collectWhy(store: Store, q: { server?: string; from: number; to: number }): Promise<WhyReport> {
  const range = { from: q.from, to: q.to, ...(q.server !== undefined ? { server: q.server } : {}) }
  const counts = (await countsByServerCategory(store, range))
    .filter((c) => c.failures > 0)
    .sort((a, b) => b.failures - a.failures || a.server.localeCompare(b.server) || a.category.localeCompare(b.category))
    .slice(0, MAX_CAUSES)
  const params: Record<string, unknown> = { from: q.from, to: q.to, n: CLIENTS }
  let where = `outcome = 'failed' AND time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`
  if (q.server !== undefined) {
    where += ' AND server = {server:String}'
    params.server = q.server
  }
  const clientRows = await store.query<{ server: string; category: Category; client: string; n: string }>(
    `SELECT server, category, client_ip AS client, count() AS n
     FROM connection_events FINAL
     WHERE ${where}
     GROUP BY server, category, client
     ORDER BY server, category, n DESC, client
     LIMIT {n:UInt32} BY server, category`,
    params,
  )
  // incidents whose failures overlap the range: last failure at or after `from`, first before `to`
  const events = (
    await latestRcaEvents(store, {
      from: q.from,
      ...(q.server !== undefined ? { server: q.server } : {}),
      limit: 10_000,
    })
  ).filter((e) => e.firstFailure < q.to)
  const causes = counts.map((c): WhyCause => {
    const mine = events
      .filter((e) => e.server === c.server && e.category === c.category)
      .sort((a, b) => b.count - a.count || (a.id < b.id ? -1 : 1))
    const top = mine[0]
    const hypothesis = mine.find((e) => e.hypotheses?.length)?.hypotheses?.[0]
    return {
      server: c.server,
      category: c.category,
      failures: c.failures,
      incidents: mine.length,
      clients: clientRows
        .filter((r) => r.server === c.server && r.category === c.category)
        .map((r) => ({ value: r.client || '(local)', count: Number(r.n) })),
      ...(top ? { incident: { id: top.id, title: top.title, status: top.status, severity: top.severity } } : {}),
      ...(hypothesis ? { hypothesis } : {}),
      steps: hypothesis?.steps.length ? hypothesis.steps : (top?.steps ?? []),
    }
  })
  return { ...(q.server !== undefined ? { server: q.server } : {}), from: q.from, to: q.to, causes }
}

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}`

/** Wraps `text` at `width` columns, every line indented by `indent`. */
function wrap(text: string, indent: string, width = 100): string[] {
  const out: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) out.push(indent + line)
  return out
}

/** The answer in one screen: causes ranked by failures, each with its likely cause, numbers, clients, steps. */
export function renderWhy(r: WhyReport): string {
  const where = r.server ?? 'all servers'
  const out = [`Why connections to ${where} failed, ${utc(r.from)} – ${utc(r.to)} UTC`]
  if (r.causes.length === 0) {
    out.push('', 'No failed connections in this range.')
    return out.join('\n')
  }
  r.causes.forEach((c, i) => {
    const on = r.server ? '' : ` on ${c.server}`
    const inc = c.incidents ? `, ${c.incidents} incident${c.incidents === 1 ? '' : 's'}` : ', no incident'
    out.push('', `${i + 1}. ${c.category}${on}: ${fmt(c.failures)} failure${c.failures === 1 ? '' : 's'}${inc}`)
    const h = c.hypothesis
    if (h) {
      out.push(...wrap(`${h.security ? '[security] ' : ''}Likely: ${h.title} (score ${h.score})`, '   '))
      const nums = Object.entries(h.evidence).map(([k, v]) => `${k} ${fmt(v)}`)
      if (nums.length) out.push(...wrap(`evidence: ${nums.join(' · ')}`, '   '))
    } else if (c.incident) {
      out.push(...wrap(c.incident.title, '   '))
    }
    if (c.clients.length)
      out.push(...wrap(`clients: ${c.clients.map((x) => `${x.value} (${fmt(x.count)})`).join(', ')}`, '   '))
    // the first step only: the screen stays one screen (--json has them all)
    if (c.steps.length) {
      const lines = wrap(c.steps[0], '     ')
      out.push(`   → ${lines[0].trimStart()}`, ...lines.slice(1))
    }
  })
  return out.join('\n')
}
