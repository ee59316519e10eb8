import type { Flavour, Hypothesis, RcaSeverity } from '@connrca/contracts'
import type { IncidentEvidence } from './evidence.js'

/** What every cause's diagnosis gets: the incident's evidence and the server's flavour. */
export interface DiagnosisContext {
  ev: IncidentEvidence
  flavour: Flavour
}

export type Diagnose = (c: DiagnosisContext) => Hypothesis[]

export function hypothesis(h: {
  id: string
  title: string
  text: string
  score: number
  evidence: Record<string, number>
  clients?: string[]
  steps: string[]
  severity?: RcaSeverity
  security?: boolean
  fleetKey?: string
}): Hypothesis {
  return {
    version: 1,
    id: h.id,
    title: h.title,
    text: h.text,
    // two decimals: stable in JSON and in texts
    score: Math.round(Math.max(0, Math.min(1, h.score)) * 100) / 100,
    ...(h.severity ? { severity: h.severity } : {}),
    ...(h.security ? { security: true } : {}),
    evidence: h.evidence,
    ...(h.fleetKey ? { fleetKey: h.fleetKey } : {}),
    clients: h.clients ?? [],
    steps: h.steps,
  }
}

/** Entries of a counting map, highest first, ties by key (deterministic). */
export function ranked<V>(m: Map<string, V>, count: (v: V) => number): [string, number][] {
  const out: [string, number][] = []
  for (const [k, v] of m) out.push([k, count(v)])
  out.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return out
}

export const pct = (part: number, whole: number) => (whole > 0 ? Math.round((100 * part) / whole) : 0)

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** `a (3), b (2)` of the first `max` entries. */
export function listOf(entries: [string, number][], max = 3): string {
  return entries
    .slice(0, max)
    .map(([k, n]) => `${k || '(none)'} (${n})`)
    .join(', ')
}

export const isAzure = (f: Flavour) => f !== 'self-hosted'

/** `net:a.b.c.0/24` of the /24 holding most of the attempts, for IPv4 clients. */
export function netKey(clients: [string, number][]): string | undefined {
  const nets = new Map<string, number>()
  for (const [ip, n] of clients) {
    const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$/.exec(ip)
    if (m) nets.set(m[1], (nets.get(m[1]) ?? 0) + n)
  }
  const top = ranked(nets, (n) => n)[0]
  return top ? `net:${top[0]}.0/24` : undefined
}
