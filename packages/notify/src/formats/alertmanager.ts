import type { RcaEvent } from '@connrca/contracts'
import { z } from 'zod'
import {
  type DigestView,
  digestLine,
  digestSummary,
  hypothesisLines,
  type IncidentsView,
  incidentLink,
  iso,
} from './view.js'

/** Alertmanager's "no end time yet" value for firing alerts. */
export const AM_ZERO_TIME = '0001-01-01T00:00:00Z'
export const AM_ALERTNAME = 'PostgresConnectionFailures'
/** Receivers such as PagerDuty bridges choke on huge bodies; Alertmanager itself caps with `max_alerts`. */
const MAX_ALERTS = 100

const LabelSet = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string())

export const AlertmanagerAlert = z.strictObject({
  status: z.enum(['firing', 'resolved']),
  labels: LabelSet.refine(
    (l) => typeof l.alertname === 'string' && l.alertname.length > 0,
    'labels.alertname is required',
  ),
  annotations: LabelSet,
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
  generatorURL: z.string(),
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
})

/** Prometheus Alertmanager webhook payload, version 4. */
export const AlertmanagerPayload = z
  .strictObject({
    version: z.literal('4'),
    groupKey: z.string().min(1),
    truncatedAlerts: z.number().int().nonnegative(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string(),
    groupLabels: LabelSet,
    commonLabels: LabelSet,
    commonAnnotations: LabelSet,
    externalURL: z.string(),
    alerts: z.array(AlertmanagerAlert).min(1),
  })
  .refine((p) => (p.status === 'firing') === p.alerts.some((a) => a.status === 'firing'), {
    message: 'status must be firing exactly when some alert is firing',
  })
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>
type Alert = z.infer<typeof AlertmanagerAlert>

/**
 * FNV-1a 64 over the sorted label pairs, as Alertmanager fingerprints label sets (model.LabelSet
 * Fingerprint): name, 0xff, value, 0xff. The separator is the raw byte 0xff, not the UTF-8 of
 * U+00FF (c3 bf), which is what made ours differ (tested against the Alertmanager binary).
 */
export function fingerprint(labels: Record<string, string>): string {
  let h = 0xcbf29ce484222325n
  const prime = 0x100000001b3n
  const mask = 0xffffffffffffffffn
  const byte = (b: number) => {
    h ^= BigInt(b)
    h = (h * prime) & mask
  }
  const feed = (s: string) => {
    for (const b of Buffer.from(s, 'utf8')) byte(b)
  }
  for (const k of Object.keys(labels).sort()) {
    feed(k)
    byte(0xff)
    feed(labels[k])
    byte(0xff)
  }
  return h.toString(16).padStart(16, '0')
}

function amGroupKey(route: string, labels: Record<string, string>): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')
  return `{}/{route=${JSON.stringify(route)}}:{${inner}}`
}

function alertOf(e: RcaEvent, externalUrl: string | undefined): Alert {
  const labels: Record<string, string> = {
    alertname: AM_ALERTNAME,
    server: e.server,
    category: e.category,
    severity: e.severity,
    persistence: e.persistence,
    incident: e.id,
    source: 'connrca',
  }
  const annotations: Record<string, string> = {
    summary: e.title,
    description: e.text,
    failures: String(e.count),
    attempts: String(e.attempts),
    revision: String(e.revision),
    first_failure: iso(e.firstFailure),
    last_failure: iso(e.lastFailure),
  }
  const diagnosis = hypothesisLines(e)
  if (diagnosis.length) {
    annotations.hypothesis = diagnosis[0]
    annotations.hypotheses = diagnosis.map((l, i) => `${i + 1}. ${l}`).join('\n')
  }
  if (e.steps.length) annotations.steps = e.steps.map((s, i) => `${i + 1}. ${s}`).join('\n')
  if (e.topClients.length) annotations.top_clients = e.topClients.map((c) => `${c.value} (${c.count})`).join(', ')
  if (e.suggestion)
    annotations.suggestion = `${e.suggestion.startIp}-${e.suggestion.endIp}${e.suggestion.cidr ? ` (${e.suggestion.cidr})` : ''}: ${e.suggestion.note}`
  const resolved = e.status === 'resolved'
  return {
    status: resolved ? 'resolved' : 'firing',
    labels,
    annotations,
    startsAt: iso(e.firstFailure),
    endsAt: resolved ? iso(Math.max(e.lastFailure, e.emittedAt)) : AM_ZERO_TIME,
    generatorURL: incidentLink({ externalUrl }, e.id) ?? '',
    fingerprint: fingerprint(labels),
  }
}

function common(maps: Record<string, string>[]): Record<string, string> {
  if (maps.length === 0) return {}
  const out: Record<string, string> = { ...maps[0] }
  for (const m of maps.slice(1)) {
    for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k]
  }
  return out
}

export function alertmanagerIncidents(v: IncidentsView): AlertmanagerPayload {
  const alerts = v.events.slice(0, MAX_ALERTS).map((e) => alertOf(e, v.externalUrl))
  if (v.test) for (const a of alerts) a.labels.test = 'true'
  return {
    version: '4',
    groupKey: amGroupKey(v.route, v.groupLabels),
    truncatedAlerts: v.events.length - alerts.length,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: v.receiver,
    groupLabels: v.groupLabels,
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: v.externalUrl ?? '',
    alerts,
  }
}

/** The digest as one already-resolved informational alert, so it never pages anyone. */
export function alertmanagerDigest(v: DigestView): AlertmanagerPayload {
  const labels = { alertname: 'ConnrcaDailyDigest', route: v.route, severity: 'info', source: 'connrca' }
  const lines = v.rows.map((r) => `${r.server} ${r.category}: ${digestLine(r)}`)
  const annotations = { summary: digestSummary(v), description: lines.join('\n') || 'No connection incidents.' }
  const alert: Alert = {
    status: 'resolved',
    labels,
    annotations,
    startsAt: iso(v.from),
    endsAt: iso(v.to),
    generatorURL: v.externalUrl ?? '',
    fingerprint: fingerprint(labels),
  }
  return {
    version: '4',
    groupKey: amGroupKey(v.route, { alertname: 'ConnrcaDailyDigest' }),
    truncatedAlerts: 0,
    status: 'resolved',
    receiver: v.receiver,
    groupLabels: { alertname: 'ConnrcaDailyDigest' },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: v.externalUrl ?? '',
    alerts: [alert],
  }
}

/** One alert as `POST /api/v2/alerts` takes it (Alertmanager computes status and fingerprint itself). */
export const PostableAlert = z.strictObject({
  labels: AlertmanagerAlert.shape.labels,
  annotations: LabelSet,
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
  generatorURL: z.string(),
})
export const AlertmanagerApiPayload = z.array(PostableAlert).min(1)
export type AlertmanagerApiPayload = z.infer<typeof AlertmanagerApiPayload>

/**
 * How long a pushed firing alert stays active without a new push. Alertmanager resolves an
 * alert at its endsAt (or after resolve_timeout, 5 min, without one); the notifier pushes again
 * on every change and every repeatInterval (default 4 h), which moves it forward.
 */
export const AM_API_FIRING_HORIZON_MS = 24 * 3_600_000

function postable(a: Alert, firingUntil: number): z.infer<typeof PostableAlert> {
  return {
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.status === 'firing' ? iso(firingUntil) : a.endsAt,
    generatorURL: a.generatorURL,
  }
}

/** The incidents as alerts for Alertmanager's API: same labels (and so fingerprints) as the webhook format. */
export function alertmanagerApiIncidents(v: IncidentsView): AlertmanagerApiPayload {
  return alertmanagerIncidents(v).alerts.map((a) => postable(a, v.sentAt + AM_API_FIRING_HORIZON_MS))
}

export function alertmanagerApiDigest(v: DigestView): AlertmanagerApiPayload {
  return alertmanagerDigest(v).alerts.map((a) => postable(a, v.to))
}
