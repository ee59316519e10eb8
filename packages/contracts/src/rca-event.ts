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

/**
 * One possible cause behind an incident's category, with the numbers that support it. Version 1 of
 * the shape (`version`); a later shape gets a new literal so readers can tell them apart.
 */
export const Hypothesis = z.object({
  version: z.literal(1),
  /** Stable name, e.g. `credentials_changed`, `password_guessing`, `rule_removed`. */
  id: z.string(),
  title: z.string(),
  /** One or two sentences with the evidence numbers. */
  text: z.string(),
  /** 0–1: how well the evidence fits; hypotheses are sorted by it, highest first. */
  score: z.number(),
  /** Its own severity when it differs from the incident's (a security finding is critical). */
  severity: RcaSeverity.optional(),
  security: z.boolean().optional(),
  /** The numbers behind the text, by name (e.g. `clientsWithEarlierSuccess: 4`). */
  evidence: z.record(z.string(), z.number()),
  /**
   * What incidents on other servers must share to be the same fleet incident: `net:81.2.69.0/24`,
   * `client:203.0.113.7`, `user:billing_app` or `app:billing-api` (with the same category).
   */
  fleetKey: z.string().optional(),
  /** Clients (addresses) the hypothesis is about, most failures first. */
  clients: z.array(z.string()),
  steps: z.array(z.string()),
})
export type Hypothesis = z.infer<typeof Hypothesis>

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
  /**
   * Ranked causes behind the category (diagnosis), best first. Optional: events written before
   * the diagnosis existed, and incidents without evidence, have none; readers must not require it.
   */
  hypotheses: z.array(Hypothesis).optional(),
  /** Event time at which this revision was produced (window end that triggered it). */
  emittedAt: z.number(),
})
export type RcaEvent = z.infer<typeof RcaEvent>
