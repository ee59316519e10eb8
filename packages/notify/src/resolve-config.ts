import { type NotifyConfig, type NotifyFormat, type NotifyLabel, toMs } from '@connrca/contracts'
import cron from 'node-cron'
import { compileMatch, type Matcher } from './match.js'

/** A receiver with durations in ms and secrets taken from the environment. */
export interface Receiver {
  name: string
  url: string
  format: NotifyFormat
  secret: string | undefined
  headers: Record<string, string>
  timeoutMs: number
  concurrency: number
  /** Minimum ms between request starts; 0 = unlimited. */
  minIntervalMs: number
  attempts: number
  initialBackoffMs: number
  maxBackoffMs: number
}

export interface Route {
  name: string
  match: Matcher
  receivers: string[]
  groupBy: NotifyLabel[]
  groupWaitMs: number
  groupIntervalMs: number
  repeatIntervalMs: number
  sendResolved: boolean
  continue: boolean
  digest: { schedule: string; timezone: string | undefined; sendEmpty: boolean } | undefined
}

export interface InhibitRule {
  source: Matcher
  target: Matcher
  equal: NotifyLabel[]
}

export interface ResolvedConfig {
  receivers: Map<string, Receiver>
  routes: Route[]
  inhibit: InhibitRule[]
  tickMs: number
  retentionMs: number
  externalUrl: string | undefined
}

export class NotifyConfigError extends Error {}

/** Slack drops bursts above about one message per second per webhook. */
const SLACK_DEFAULT_RATE = 1

export function resolveConfig(
  cfg: NotifyConfig,
  env: Record<string, string | undefined> = process.env,
): ResolvedConfig {
  const receivers = new Map<string, Receiver>()
  for (const r of cfg.receivers) {
    const url = r.url ?? (r.urlEnv ? env[r.urlEnv] : undefined)
    if (!url) throw new NotifyConfigError(`notify.receivers.${r.name}: environment variable ${r.urlEnv} is not set`)
    let protocol: string
    try {
      protocol = new URL(url).protocol
    } catch {
      throw new NotifyConfigError(`notify.receivers.${r.name}: the URL from ${r.urlEnv ?? 'url'} is not a valid URL`)
    }
    // refused at start: a wrong scheme would otherwise be retried `attempts` times per notification
    if (protocol !== 'http:' && protocol !== 'https:')
      throw new NotifyConfigError(
        `notify.receivers.${r.name}: the URL from ${r.urlEnv ?? 'url'} must start with http:// or https://, not ${protocol}//`,
      )
    const secret = r.secret ?? (r.secretEnv ? env[r.secretEnv] : undefined)
    if (r.secretEnv && !secret)
      throw new NotifyConfigError(`notify.receivers.${r.name}: environment variable ${r.secretEnv} is not set`)
    const rate = r.ratePerSecond ?? (r.format === 'slack' ? SLACK_DEFAULT_RATE : 0)
    receivers.set(r.name, {
      name: r.name,
      url,
      format: r.format,
      secret,
      headers: r.headers,
      timeoutMs: toMs(r.timeout),
      concurrency: r.concurrency,
      minIntervalMs: rate > 0 ? Math.ceil(1000 / rate) : 0,
      attempts: r.retry.attempts,
      initialBackoffMs: toMs(r.retry.initialBackoff),
      maxBackoffMs: toMs(r.retry.maxBackoff),
    })
  }
  const routes: Route[] = cfg.routes.map((r) => {
    for (const name of r.receivers) {
      if (!receivers.has(name)) throw new NotifyConfigError(`notify.routes.${r.name}: unknown receiver "${name}"`)
    }
    if (r.digest && !cron.validate(r.digest.schedule))
      throw new NotifyConfigError(
        `notify.routes.${r.name}.digest.schedule: "${r.digest.schedule}" is not a cron expression`,
      )
    return {
      name: r.name,
      match: compileMatch(r.match),
      receivers: r.receivers,
      groupBy: r.groupBy,
      groupWaitMs: toMs(r.groupWait),
      groupIntervalMs: toMs(r.groupInterval),
      repeatIntervalMs: toMs(r.repeatInterval),
      sendResolved: r.sendResolved,
      continue: r.continue,
      digest: r.digest && { schedule: r.digest.schedule, timezone: r.digest.timezone, sendEmpty: r.digest.sendEmpty },
    }
  })
  return {
    receivers,
    routes,
    inhibit: cfg.inhibit.map((i) => ({
      source: compileMatch(i.source),
      target: compileMatch(i.target),
      equal: i.equal,
    })),
    tickMs: toMs(cfg.tickInterval),
    retentionMs: toMs(cfg.retention),
    externalUrl: cfg.externalUrl?.replace(/\/+$/, ''),
  }
}
