import { z } from 'zod'
import { Duration } from './duration.js'
import { urlWithScheme } from './strict.js'
import { LogFormat } from '../log-record.js'

const duration = Duration

const common = {
  /** Unique per config; defaults to `<type>:<first path / port / workspace>`. Checkpoints are keyed by it. */
  name: z.string().min(1).optional(),
  format: LogFormat.default('auto'),
  /** stderr log_line_prefix, when not one of the known defaults. */
  prefix: z.string().optional(),
  /** Fixed server name for everything this source reads. */
  server: z.string().optional(),
}

const listen = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535),
})

export const FileSource = z.object({
  type: z.literal('file'),
  /** Files, directories or globs. */
  paths: z.array(z.string()).min(1),
  /** Regex with a named group `server` applied to the path, e.g. `logs/(?<server>[^/]+)/`. */
  serverFromPath: z
    .string()
    .refine(compiles, { error: (iss) => `not a valid regular expression: ${regexError(String(iss.input))}`, abort: true })
    .refine((s) => /\(\?<server>/.test(s), 'needs a named group (?<server>…) that captures the server name')
    .optional(),
  /** Keep watching for growth, rotation and new files after the existing content is read. */
  follow: z.boolean().default(true),
  /** Fallback poll interval (fs.watch misses events on some file systems). */
  pollInterval: duration.default('1s'),
  /**
   * A rotated-away (renamed) file is read on until nothing was appended to it for this long: its
   * writer keeps writing to it until it reopens the path (Fluent Bit's Rotate_Wait, Filebeat's
   * close_inactive).
   */
  rotateWait: duration.default('30s'),
  ...common,
})
export type FileSource = z.infer<typeof FileSource>

/** PostgreSQL `log_destination = syslog`, forwarded by rsyslog/syslog-ng or sent directly. */
export const SyslogSource = z
  .object({
    type: z.literal('syslog'),
    udp: listen.optional(),
    tcp: listen.optional(),
    /** Syslog host name -> server name; unmapped hosts keep their host name. */
    hosts: z.record(z.string(), z.string()).default({}),
    /** Largest accepted TCP frame / UDP datagram in bytes; longer frames are dead-lettered. */
    maxMessageBytes: z.number().int().positive().default(64 * 1024),
    ...common,
    format: LogFormat.default('syslog'),
  })
  .refine((s) => s.udp !== undefined || s.tcp !== undefined, { message: 'a syslog source needs `udp` or `tcp`' })
export type SyslogSource = z.infer<typeof SyslogSource>

/** `POST /v1/logs` for Vector, Fluent Bit, Logstash and scripts. */
export const HttpSource = z
  .object({
    type: z.literal('http'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8081),
    /** Bearer token clients must send; or the name of an environment variable holding it. */
    token: z.string().min(1).optional(),
    tokenEnv: z.string().optional(),
    /** Request bodies above this many bytes get 413. */
    maxBodyBytes: z.number().int().positive().default(10 * 1024 * 1024),
    ...common,
  })
  .refine((s) => s.token !== undefined || s.tokenEnv !== undefined, {
    message: 'an http source needs `token` or `tokenEnv` (requests without the bearer token are refused)',
  })
export type HttpSource = z.infer<typeof HttpSource>

export const StdinSource = z.object({
  type: z.literal('stdin'),
  ...common,
})
export type StdinSource = z.infer<typeof StdinSource>

export const AzureCredentialConfig = z.discriminatedUnion('type', [
  z.object({ type: z.literal('default') }),
  z.object({
    type: z.literal('clientSecret'),
    tenantId: z.string().min(1),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional(),
    /** Environment variable holding the secret, so the file holds none. */
    clientSecretEnv: z.string().optional(),
    /** Microsoft Entra authority, e.g. https://login.chinacloudapi.cn; default: the one of `endpoint`'s cloud. */
    authorityHost: urlWithScheme('https').optional(),
    /** For an authority Microsoft's instance discovery does not know (Azure Stack, a private cloud). */
    disableInstanceDiscovery: z.boolean().optional(),
  }),
  z.object({ type: z.literal('managedIdentity'), clientId: z.string().optional() }),
])
export type AzureCredentialConfig = z.infer<typeof AzureCredentialConfig>

/** Azure Database for PostgreSQL logs from a Log Analytics workspace. */
export const AzureSource = z.object({
  type: z.literal('azure'),
  workspaceId: z.string().min(1),
  /** `AzureDiagnostics` (Category PostgreSQLLogs) and/or the resource-specific `PGSQLServerLogs`. */
  tables: z.array(z.enum(['AzureDiagnostics', 'PGSQLServerLogs'])).min(1).default(['AzureDiagnostics', 'PGSQLServerLogs']),
  credential: AzureCredentialConfig.default({ type: 'default' }),
  /** node-cron expression; default every minute. */
  schedule: z.string().default('* * * * *'),
  /**
   * Scheduled pulls window on ingestion time (`ingestion_time()`); each re-reads this far behind the
   * checkpoint, deduplicated by `_ItemId`, for rows ingested but not yet queryable at the last pull.
   */
  overlap: duration.default('10m'),
  /** Rows ingested this long after their TimeGenerated are still read (resource logs: minutes, up to ~20 min). */
  maxLateness: duration.default('2h'),
  /** Where the first pull starts when there is no checkpoint. */
  initialLookback: duration.default('1h'),
  /** Longest time range of one query; busy ranges are split further. */
  maxSlice: duration.default('1h'),
  /** Rows per query above which a slice is split (the service caps results at 500,000 rows / ~64 MB). */
  maxRows: z.number().int().positive().max(499_999, 'must be below the service limit of 500,000 rows').default(100_000),
  /** Only rows whose message concerns connections (cheap `has_any` filter in KQL); false = every row. */
  connectionsOnly: z.boolean().default(true),
  /** Resource (logical server) name -> server name. */
  servers: z.record(z.string(), z.string()).default({}),
  /**
   * Query endpoint of a sovereign cloud (https://api.loganalytics.azure.cn/v1, https://api.loganalytics.us/v1);
   * default https://api.loganalytics.io/v1. Azure Monitor Private Link needs no change here (it works through DNS).
   */
  endpoint: urlWithScheme('https').optional(),
  /** Token audience; default: the one of `endpoint`'s cloud (set it when `endpoint` is a proxy). */
  audience: z.string().url().optional(),
  /** Extra CA certificate (PEM file) to trust for `endpoint`, e.g. a TLS-inspecting proxy. */
  caFile: z.string().optional(),
  retry: z
    .object({
      attempts: z.number().int().positive().default(6),
      initialBackoff: duration.default('2s'),
      maxBackoff: duration.default('2m'),
    })
    .prefault({}),
  ...common,
  format: LogFormat.default('azure'),
})
export type AzureSource = z.infer<typeof AzureSource>

export const SourceConfig = z.discriminatedUnion('type', [FileSource, SyslogSource, HttpSource, StdinSource, AzureSource])
export type SourceConfig = z.infer<typeof SourceConfig>

function compiles(pattern: string): boolean {
  return regexError(pattern) === undefined
}

function regexError(pattern: string): string | undefined {
  try {
    new RegExp(pattern)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}
