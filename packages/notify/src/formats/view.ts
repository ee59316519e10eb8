import type { Category, RcaEvent } from '@connrca/contracts'
import { fleetHeadline } from '../fleet.js'

/** What a group flush wants to say, before it is shaped for one receiver's format. */
export interface IncidentsView {
  kind: 'incidents'
  route: string
  receiver: string
  groupKey: string
  groupLabels: Record<string, string>
  /** `resolved` only when every incident in the message is resolved. */
  status: 'firing' | 'resolved'
  /** Firing incidents first, then resolved ones. */
  events: RcaEvent[]
  sentAt: number
  externalUrl: string | undefined
  /** Sample message from `connrca notify test`. */
  test: boolean
}

export interface DigestRow {
  server: string
  category: Category
  incidents: number
  open: number
  failures: number
  firstFailure: number
  lastFailure: number
}

export interface DigestView {
  kind: 'digest'
  route: string
  receiver: string
  from: number
  to: number
  rows: DigestRow[]
  sentAt: number
  externalUrl: string | undefined
}

export type View = IncidentsView | DigestView

export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** `2024-05-01 10:02 UTC` — what a person reads in a chat message. */
export function humanTime(ms: number): string {
  return `${iso(ms).slice(0, 16).replace('T', ' ')} UTC`
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** One line for a group: the incident title when alone, else a count and the group labels. */
export function headline(v: IncidentsView): string {
  const prefix = v.test ? '[TEST] ' : v.status === 'resolved' ? '[RESOLVED] ' : ''
  if (v.events.length === 1) return prefix + v.events[0].title
  const fleet = v.groupLabels.fleet ? fleetHeadline(v.groupLabels.fleet, v.events, humanTime) : undefined
  if (fleet) return `${prefix}${v.status === 'resolved' ? `resolved: ${fleet}` : fleet}`
  const firing = v.events.filter((e) => e.status !== 'resolved').length
  const labels = Object.values(v.groupLabels).join(' · ')
  return v.status === 'resolved'
    ? `${prefix}${plural(v.events.length, 'incident')} resolved: ${labels}`
    : `${prefix}${plural(firing, 'connection incident')} firing: ${labels}`
}

export function digestHeadline(v: DigestView): string {
  return `connrca daily digest (${v.route}): ${humanTime(v.from)} – ${humanTime(v.to)}`
}

export function digestSummary(v: DigestView): string {
  if (v.rows.length === 0) return 'No connection incidents in this period.'
  const incidents = v.rows.reduce((n, r) => n + r.incidents, 0)
  const failures = v.rows.reduce((n, r) => n + r.failures, 0)
  const open = v.rows.reduce((n, r) => n + r.open, 0)
  const servers = new Set(v.rows.map((r) => r.server)).size
  return `${plural(incidents, 'incident')} (${open} still open), ${plural(failures, 'failed connection')} on ${plural(servers, 'server')}.`
}

export function digestLine(r: DigestRow): string {
  return `${plural(r.incidents, 'incident')}${r.open ? ` (${r.open} open)` : ''}, ${plural(r.failures, 'failure')}, ${humanTime(r.firstFailure)} – ${humanTime(r.lastFailure)}`
}

export function incidentLink(v: { externalUrl: string | undefined }, id: string): string | undefined {
  return v.externalUrl ? `${v.externalUrl}/incidents/${encodeURIComponent(id)}` : undefined
}

/**
 * The diagnosis as lines, best first: `credentials changed: … (score 0.95; failures 756, clients 4)`,
 * with `[security]` for security findings. Empty when the event has no hypotheses.
 */
export function hypothesisLines(e: RcaEvent): string[] {
  return (e.hypotheses ?? []).map((h) => {
    const nums = Object.entries(h.evidence)
      .slice(0, 4)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')
    return `${h.security ? '[security] ' : ''}${h.title} (score ${h.score}${nums ? `; ${nums}` : ''})`
  })
}
