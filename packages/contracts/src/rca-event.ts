import { z } from 'zod'
import { Category } from './connection-event.js'
import { TopEntry } from './window-count.js'

export const RcaStatus = z.enum(['open', 'updated', 'resolved'])
export const Persistence = z.enum(['transient', 'persistent', 'recurring'])
export const RcaSeverity = z.enum(['info', 'warning', 'critical'])
export type RcaStatus = z.infer<typeof RcaStatus>
export type Persistence = z.infer<typeof Persistence>
export type RcaSeverity = z.infer<typeof RcaSeverity>

export const Suggestion = z.object({
  kind: z.literal('firewall_rule'),
  startIp: z.string(),
  endIp: z.string(),
  cidr: z.string().optional(),
  note: z.string(),
  /** One rule per client network when the denied clients come from several. */
  rules: z.array(z.object({ startIp: z.string(), endIp: z.string(), cidr: z.string().optional() })).optional(),
})
export type Suggestion = z.infer<typeof Suggestion>

/** One incident: a run of windows in which one server fails for one cause. */
export const RcaEvent = z.object({
  schema: z.literal('connrca.rca.v1'),
  /** Deterministic: hash(server, category, incident start window). */
  id: z.string(),
  revision: z.number(),
  status: RcaStatus,
  server: z.string(),
  category: Category,
  count: z.number(),
  attempts: z.number(),
  firstFailure: z.number(),
  lastFailure: z.number(),
  windows: z.array(z.object({ start: z.number(), end: z.number(), failures: z.number() })),
  reasons: z.array(TopEntry),
  topClients: z.array(TopEntry),
  topUsers: z.array(TopEntry),
  topDatabases: z.array(TopEntry),
  sampleMessages: z.array(z.string()),
  persistence: Persistence,
  severity: RcaSeverity,
  title: z.string(),
  text: z.string(),
  steps: z.array(z.string()),
  suggestion: Suggestion.optional(),
  /** Event time at which this revision was produced (window end that triggered it). */
  emittedAt: z.number(),
})
export type RcaEvent = z.infer<typeof RcaEvent>
