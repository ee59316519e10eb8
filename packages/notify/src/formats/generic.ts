import { Category, RcaEvent } from '@connrca/contracts'
import { z } from 'zod'
import { type DigestView, type IncidentsView, iso } from './view.js'

export const GENERIC_SCHEMA = 'connrca.notification.v1'

export const GenericIncidents = z.strictObject({
  schema: z.literal(GENERIC_SCHEMA),
  kind: z.literal('incidents'),
  status: z.enum(['firing', 'resolved']),
  test: z.boolean(),
  route: z.string(),
  receiver: z.string(),
  groupKey: z.string(),
  groupLabels: z.record(z.string(), z.string()),
  sentAt: z.iso.datetime(),
  events: z.array(RcaEvent).min(1),
})

export const GenericDigest = z.strictObject({
  schema: z.literal(GENERIC_SCHEMA),
  kind: z.literal('digest'),
  route: z.string(),
  receiver: z.string(),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  sentAt: z.iso.datetime(),
  totals: z.strictObject({ incidents: z.number(), open: z.number(), failures: z.number() }),
  rows: z.array(
    z.strictObject({
      server: z.string(),
      category: Category,
      incidents: z.number(),
      open: z.number(),
      failures: z.number(),
      firstFailure: z.iso.datetime(),
      lastFailure: z.iso.datetime(),
    }),
  ),
})

/** `generic`: the RcaEvents themselves (schema connrca.rca.v1) in a small versioned envelope. */
export const GenericPayload = z.discriminatedUnion('kind', [GenericIncidents, GenericDigest])
export type GenericPayload = z.infer<typeof GenericPayload>

export function genericIncidents(v: IncidentsView): z.infer<typeof GenericIncidents> {
  return {
    schema: GENERIC_SCHEMA,
    kind: 'incidents',
    status: v.status,
    test: v.test,
    route: v.route,
    receiver: v.receiver,
    groupKey: v.groupKey,
    groupLabels: v.groupLabels,
    sentAt: iso(v.sentAt),
    events: v.events,
  }
}

export function genericDigest(v: DigestView): z.infer<typeof GenericDigest> {
  return {
    schema: GENERIC_SCHEMA,
    kind: 'digest',
    route: v.route,
    receiver: v.receiver,
    from: iso(v.from),
    to: iso(v.to),
    sentAt: iso(v.sentAt),
    totals: {
      incidents: v.rows.reduce((n, r) => n + r.incidents, 0),
      open: v.rows.reduce((n, r) => n + r.open, 0),
      failures: v.rows.reduce((n, r) => n + r.failures, 0),
    },
    rows: v.rows.map((r) => ({ ...r, firstFailure: iso(r.firstFailure), lastFailure: iso(r.lastFailure) })),
  }
}
