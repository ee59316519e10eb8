import type { Category, Flavour } from '@connrca/contracts'

export type GenFormat = 'stderr' | 'csvlog' | 'jsonlog' | 'syslog'

export interface GenerateOptions {
  /** Server names, or a count (names `pg-01`, `pg-02`, ...). */
  servers: string[] | number
  /** Epoch ms of the first line. */
  start: number
  durationMs: number
  /** Average lines per second per server of normal traffic. */
  ratePerSec: number
  format: GenFormat
  /** log_line_prefix for stderr/syslog; default DEFAULT_PREFIX (stderr), SYSLOG_PREFIX (syslog). */
  prefix?: string
  seed?: number
  /** Failures to inject; 'default' = the bundled sample story (see profiles.ts). */
  incidents?: InjectedIncident[] | 'default'
}

export interface InjectedIncident {
  server: string
  category: Category
  /** A classifier reason; default per category (see templates.ts). */
  reason?: string
  start: number
  durationMs: number
  /** Average failed attempts per minute (Poisson). */
  perMinute: number
  /** Client ips the attempts come from (uniformly). */
  clients?: string[]
  user?: string
  /** User names tried, one picked per attempt (password guessing); overrides `user`. */
  users?: string[]
  database?: string
  /**
   * Long-lived sessions of one application that grow before the incident (a connection pool
   * growing into max_connections): `from` sessions open 2 h before the ramp, growing linearly to
   * `to` during `rampMs` before `start`, all closed at the incident's end.
   */
  pool?: { application: string; user?: string; from: number; to: number; rampMs: number }
  /** Ground truth for the diagnosis: the hypothesis id it should name first. */
  expect?: string
}

export interface WindowTruth {
  server: string
  category: Category
  /** Epoch ms, multiple of 5 minutes. */
  windowStart: number
  failures: number
}

/** What was injected, counted at emission: one per failed attempt (not per line). */
export interface GroundTruth {
  servers: string[]
  /** server -> category -> failed attempts */
  failures: Record<string, Partial<Record<Category, number>>>
  /** server -> reason -> failed attempts */
  reasons: Record<string, Record<string, number>>
  /** 5-minute tumbling windows, sorted by server, category, windowStart. */
  windows: WindowTruth[]
  incidents: InjectedIncident[]
  /** Only when the whole log was generated (not for the incidents-only truth of generateSample). */
  totals?: { lines: number; records: number; received: number; authorized: number; closed: number }
}

export interface ServerProfile {
  name: string
  flavour: Flavour
  region?: string
  /** PostgreSQL major version: decides message wordings. */
  version: number
  hostname: string
  databases: string[]
  /** [user, application, weight] of normal sessions */
  users: Array<[string, string, number]>
  appClients: string[]
  adminClients: string[]
}
