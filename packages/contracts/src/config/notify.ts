import { z } from 'zod'
import { Duration } from './duration.js'
import { urlWithScheme } from './strict.js'
import { Category } from '../connection-event.js'
import { Persistence, RcaSeverity } from '../rca-event.js'

const duration = Duration

/**
 * `alertmanager`: the webhook payload Alertmanager itself sends (for receivers that take it);
 * `alertmanager-api`: alerts pushed to an Alertmanager's `POST /api/v2/alerts`, so its routes,
 * silences and inhibitions apply (url: http://alertmanager:9093/api/v2/alerts).
 */
export const NotifyFormat = z.enum(['generic', 'alertmanager', 'alertmanager-api', 'slack', 'teams'])
export type NotifyFormat = z.infer<typeof NotifyFormat>

/** Incident fields a route, an inhibition rule or a group key can look at. */
export const NotifyLabel = z.enum(['server', 'category', 'severity', 'persistence'])
export type NotifyLabel = z.infer<typeof NotifyLabel>

/** A webhook. Secrets may come from the environment (`urlEnv`, `secretEnv`) so the file holds none. */
export const NotifyReceiver = z
  .object({
    name: z.string().min(1),
    url: urlWithScheme('http', 'https').optional(),
    /** Name of an environment variable holding the URL (webhook URLs often embed a token). */
    urlEnv: z.string().optional(),
    format: NotifyFormat.default('generic'),
    /** Shared secret for the HMAC-SHA256 signature header. */
    secret: z.string().optional(),
    secretEnv: z.string().optional(),
    /** Extra request headers, e.g. an Authorization header for a private endpoint. */
    headers: z.record(z.string(), z.string()).default({}),
    timeout: duration.default('10s'),
    /** Requests in flight at once for this receiver. */
    concurrency: z.number().int().positive().default(2),
    /** Requests started per second; Slack receivers default to 1, others are unlimited. */
    ratePerSecond: z.number().positive().optional(),
    retry: z
      .object({
        /** Attempts in total before the notification goes to the dead-letter store. */
        attempts: z.number().int().positive().default(8),
        initialBackoff: duration.default('1s'),
        maxBackoff: duration.default('5m'),
      })
      .prefault({}),
  })
  .refine((r) => r.url !== undefined || r.urlEnv !== undefined, { message: 'a receiver needs `url` or `urlEnv`' })
export type NotifyReceiver = z.infer<typeof NotifyReceiver>

/** Every given field must match; within a field any listed value matches. Absent = anything. */
export const NotifyMatch = z.object({
  /** Globs on the server name: `*` any run of characters, `?` one character. */
  servers: z.array(z.string().min(1)).optional(),
  categories: z.array(Category).optional(),
  severities: z.array(RcaSeverity).optional(),
  persistence: z.array(Persistence).optional(),
})
export type NotifyMatch = z.infer<typeof NotifyMatch>

export const NotifyDigest = z.object({
  /** node-cron expression (5 or 6 fields), e.g. `0 8 * * *` for 08:00 every day. */
  schedule: z.string().min(1),
  timezone: z.string().optional(),
  /** Send the digest even when the route saw no incident (a daily sign of life). */
  sendEmpty: z.boolean().default(true),
})
export type NotifyDigest = z.infer<typeof NotifyDigest>

export const NotifyRoute = z.object({
  name: z.string().min(1),
  match: NotifyMatch.prefault({}),
  /** Names of receivers (see `notify.receivers`). */
  receivers: z.array(z.string().min(1)).min(1),
  groupBy: z.array(NotifyLabel).default(['server', 'category']),
  groupWait: duration.default('30s'),
  groupInterval: duration.default('5m'),
  repeatInterval: duration.default('4h'),
  sendResolved: z.boolean().default(true),
  /** When false, an incident that matches this route is not offered to the routes after it. */
  continue: z.boolean().default(true),
  digest: NotifyDigest.optional(),
})
export type NotifyRoute = z.infer<typeof NotifyRoute>

/** While a firing incident matches `source`, incidents matching `target` with the same `equal` labels stay quiet. */
export const NotifyInhibitRule = z.object({
  source: NotifyMatch,
  target: NotifyMatch,
  equal: z.array(NotifyLabel).default(['server']),
})
export type NotifyInhibitRule = z.infer<typeof NotifyInhibitRule>

/** A server restart (transient) resets connections; the resulting network errors are noise while it lasts. */
export const DEFAULT_INHIBIT_RULES: NotifyInhibitRule[] = [
  { source: { categories: ['transient'] }, target: { categories: ['network'] }, equal: ['server'] },
]

export const NotifyConfig = z
  .object({
    receivers: z.array(NotifyReceiver).default([]),
    routes: z.array(NotifyRoute).default([]),
    inhibit: z.array(NotifyInhibitRule).default(DEFAULT_INHIBIT_RULES),
    /** How often due group flushes and retries are looked at. */
    tickInterval: duration.default('1s'),
    /** Incidents not updated for this long are forgotten (the digest needs at least 24 h). */
    retention: duration.default('7d'),
    /** Base URL of the connrca UI, used for links in messages. */
    externalUrl: urlWithScheme('http', 'https').optional(),
  })
  .superRefine((cfg, ctx) => {
    const receivers = new Set<string>()
    cfg.receivers.forEach((r, i) => {
      if (receivers.has(r.name))
        ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `duplicate receiver "${r.name}"` })
      receivers.add(r.name)
    })
    const routes = new Set<string>()
    cfg.routes.forEach((route, i) => {
      if (routes.has(route.name))
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `duplicate route "${route.name}"` })
      routes.add(route.name)
      route.receivers.forEach((name, j) => {
        if (!receivers.has(name))
          ctx.addIssue({ code: 'custom', path: ['routes', i, 'receivers', j], message: `unknown receiver "${name}"` })
      })
    })
  })
export type NotifyConfig = z.infer<typeof NotifyConfig>
