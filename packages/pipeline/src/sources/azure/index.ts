import { readFileSync } from 'node:fs'
import type { TokenCredential } from '@azure/core-auth'
import type { LogsQueryClient } from '@azure/monitor-query-logs'
import { type AzureSource as AzureConfig, AzureSource, toMs } from '@connrca/contracts'
import cron, { type ScheduledTask } from 'node-cron'
import type { Deliver, Source, SourceBatch, SourceDeps } from '../types.js'
import {
  AzurePuller,
  type AzureQueryClient,
  type PullProgress,
  UNRESOLVED_TABLES_HEADER,
  unresolvedTables,
  withWorkspaceLock,
  workspaceBusy,
} from './puller.js'

export { AzureQueryError, type PullProgress } from './puller.js'

/**
 * The clouds' query hosts, token audiences and Microsoft Entra authorities. The SDK asks for
 * https://api.loganalytics.io/.default whatever its `endpoint` or `audience` (azure-sdk-for-js#39506),
 * which a China or US Gov tenant refuses (AADSTS500011): the scope is passed explicitly.
 */
const CLOUDS = [
  {
    host: 'api.loganalytics.azure.cn',
    audience: 'https://api.loganalytics.azure.cn',
    authority: 'https://login.chinacloudapi.cn',
  },
  {
    host: 'api.loganalytics.us',
    audience: 'https://api.loganalytics.us',
    authority: 'https://login.microsoftonline.us',
  },
]
const PUBLIC_AUDIENCE = 'https://api.loganalytics.io'

function cloudOf(endpoint: string | undefined) {
  if (!endpoint) return undefined
  let host: string
  try {
    host = new URL(endpoint).hostname.toLowerCase()
  } catch {
    return undefined
  }
  return CLOUDS.find((c) => host === c.host)
}

/** Token scopes for a query endpoint: `audience` if set, else the endpoint's cloud, else the public cloud. */
export function scopesFor(endpoint: string | undefined, audience?: string): string[] {
  const aud = audience ?? cloudOf(endpoint)?.audience ?? PUBLIC_AUDIENCE
  return [`${aud.replace(/\/+$/, '')}/.default`]
}

const BATCH = 5000
/** Ids remembered across restarts for the overlap dedup (the store dedups the rest by id). */
const SEEN_IN_CHECKPOINT = 50_000

export interface AzureCheckpoint {
  v: 1
  /** Everything ingested (`ingestion_time()`) before this was delivered. */
  until: number
  /** Recently delivered `_ItemId`s with their ingestion times. */
  seen: Array<[string, number]>
}

// The Azure SDK (~0.8 MB of JavaScript) is imported when a source or backfill starts, not with
// this module: every command that reads files goes through createSource, which names this class.
export async function credentialFor(cfg: AzureConfig, injected?: TokenCredential): Promise<TokenCredential> {
  if (injected) return injected
  const { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } = await import('@azure/identity')
  const c = cfg.credential
  switch (c.type) {
    case 'clientSecret': {
      const secret = c.clientSecret ?? (c.clientSecretEnv ? process.env[c.clientSecretEnv] : undefined)
      if (!secret)
        throw new Error(
          `azure source: credential.clientSecret or the variable named by credential.clientSecretEnv is required`,
        )
      const authorityHost = c.authorityHost ?? cloudOf(cfg.endpoint)?.authority
      return new ClientSecretCredential(c.tenantId, c.clientId, secret, {
        ...(authorityHost ? { authorityHost } : {}),
        ...(c.disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {}),
      })
    }
    case 'managedIdentity':
      return c.clientId ? new ManagedIdentityCredential({ clientId: c.clientId }) : new ManagedIdentityCredential()
    default: {
      const authorityHost = cloudOf(cfg.endpoint)?.authority
      return new DefaultAzureCredential(authorityHost ? { authorityHost } : {})
    }
  }
}

/**
 * An empty workspace answers 204 without a body, which the SDK has no case for (it throws a
 * TypeError reading the missing error body): seen as an empty result instead.
 */
const noContentAsEmpty: Parameters<LogsQueryClient['pipeline']['addPolicy']>[0] = {
  name: 'connrcaNoContentAsEmpty',
  async sendRequest(request, next) {
    const res = await next(request)
    if (res.status !== 204) return res
    res.status = 200
    res.bodyAsText = '{"tables":[]}'
    res.headers.set('content-type', 'application/json')
    return res
  },
}

/**
 * A 400 for a missing table names it only deep in its body (a SEM0100 nested in innererror, or as
 * JSON text in innererror.information.details), and the SDK's error model keeps only part of the
 * body (it drops `information`): the names are read from the raw body here and passed on in a header.
 */
const unresolvedTablesHeader: Parameters<LogsQueryClient['pipeline']['addPolicy']>[0] = {
  name: 'connrcaUnresolvedTables',
  async sendRequest(request, next) {
    const res = await next(request)
    if (res.status !== 400 || !res.bodyAsText) return res
    const tables = unresolvedTables(res.bodyAsText)
    if (tables.length) res.headers.set(UNRESOLVED_TABLES_HEADER, tables.join(','))
    return res
  },
}

/** The SDK client; retries are the puller's (so throttling and backoff are visible and bounded). */
export async function queryClientFor(cfg: AzureConfig, credential: TokenCredential): Promise<AzureQueryClient> {
  const { LogsQueryClient } = await import('@azure/monitor-query-logs')
  let endpoint = cfg.endpoint?.replace(/\/+$/, '')
  // The SDK takes a custom endpoint as the full base URL, API version included.
  if (endpoint && !/\/v1$/.test(endpoint)) endpoint = `${endpoint}/v1`
  const client = new LogsQueryClient(credential, {
    ...(endpoint ? { endpoint } : {}),
    credentials: { scopes: scopesFor(endpoint, cfg.audience) },
    retryOptions: { maxRetries: 0 },
    ...(cfg.caFile ? { tlsOptions: { ca: readFileSync(cfg.caFile) } } : {}),
  })
  client.pipeline.addPolicy(noContentAsEmpty)
  client.pipeline.addPolicy(unresolvedTablesHeader)
  return client
}

async function deliverSlice(deliver: Deliver, batch: SourceBatch): Promise<void> {
  for (let i = 0; i < Math.max(batch.records.length, batch.deadLetters.length); i += BATCH) {
    await deliver({ records: batch.records.slice(i, i + BATCH), deadLetters: batch.deadLetters.slice(i, i + BATCH) })
  }
}

/**
 * Pulls PostgreSQL server logs from a Log Analytics workspace on a node-cron schedule. Each run
 * reads the rows ingested from the checkpoint minus the overlap up to now (windowing on
 * `ingestion_time()`, so rows that arrive late are not skipped); the checkpoint moves per slice,
 * only after the slice's records were accepted downstream.
 */
export class AzureMonitorSource implements Source {
  readonly name: string
  private readonly log: (line: string) => void
  private readonly now: () => number
  private readonly overlap: number
  private puller!: AzurePuller
  private until: number | undefined
  private task: ScheduledTask | undefined
  private running: Promise<void> | undefined
  private readonly abort = new AbortController()
  private deliver!: Deliver
  private firstPull!: Promise<void>
  private client: AzureQueryClient | undefined

  constructor(
    private readonly cfg: AzureConfig,
    private readonly deps: SourceDeps & { client?: AzureQueryClient } = {},
  ) {
    this.name = cfg.name ?? `azure:${cfg.workspaceId}`
    this.log = deps.logger ?? (() => {})
    this.now = deps.now ?? Date.now
    this.overlap = toMs(cfg.overlap)
    if (!cron.validate(cfg.schedule))
      throw new Error(`${this.name}: schedule "${cfg.schedule}" is not a valid cron expression`)
  }

  async start(deliver: Deliver, state?: unknown): Promise<void> {
    this.deliver = deliver
    this.client =
      this.deps.client ?? (await queryClientFor(this.cfg, await credentialFor(this.cfg, this.deps.credential)))
    this.puller = new AzurePuller(this.cfg, this.client, this.name, this.log, this.abort.signal)
    const cp = parseState(state)
    if (cp) {
      this.until = cp.until
      for (const [id, t] of cp.seen) this.puller.seen.set(id, t)
    }
    this.firstPull = this.pullNow()
    this.task = cron.schedule(this.cfg.schedule, () => {
      void this.pullNow()
    })
  }

  /** One scheduled run; skipped while the previous one (or a backfill of this workspace) is still going. */
  pullNow(): Promise<void> {
    if (this.running || workspaceBusy(this.cfg.workspaceId)) {
      this.log(`${this.name}: previous pull still running; skipping this one`)
      return this.running ?? Promise.resolve()
    }
    this.running = withWorkspaceLock(this.cfg.workspaceId, () => this.pullOnce())
      .catch((err) => {
        if (!this.abort.signal.aborted) this.log((err as Error).message)
      })
      .finally(() => {
        this.running = undefined
      })
    return this.running
  }

  private async pullOnce(): Promise<void> {
    const to = this.now()
    const from =
      this.until === undefined ? to - toMs(this.cfg.initialLookback) : Math.min(this.until - this.overlap, to)
    if (to <= from) return
    await this.puller.pull(
      from,
      to,
      async (slice, end) => {
        await deliverSlice(this.deliver, slice)
        if (this.until === undefined || end > this.until) this.until = end
      },
      undefined,
      'ingestion',
    )
    this.puller.prune((this.until ?? to) - this.overlap)
  }

  checkpoint(): AzureCheckpoint | undefined {
    if (this.until === undefined) return undefined
    const seen = [...(this.puller?.seen ?? [])]
    return { v: 1, until: this.until, seen: seen.length > SEEN_IN_CHECKPOINT ? seen.slice(-SEEN_IN_CHECKPOINT) : seen }
  }

  /** The first pull (catch-up from the checkpoint, or the initial lookback) is delivered. */
  caughtUp(): Promise<void> {
    return this.firstPull
  }

  async stop(): Promise<void> {
    await this.task?.stop()
    await this.task?.destroy()
    this.abort.abort(new Error('stopping'))
    await this.running
  }
}

/**
 * `connrca azure backfill --from … --to …`: reads a past range once, slice by slice, reporting
 * progress. Waits for (never overlaps) a scheduled pull of the same workspace.
 */
export async function backfill(
  input: AzureConfig,
  from: Date | number,
  to: Date | number,
  deliver: Deliver,
  onProgress?: (p: PullProgress) => void,
  deps: SourceDeps & { client?: AzureQueryClient; signal?: AbortSignal } = {},
): Promise<PullProgress> {
  // Defaults applied here too, so the CLI may pass the config entry as written.
  const parsed = AzureSource.safeParse(input)
  if (!parsed.success) {
    const i = parsed.error.issues[0]
    throw new Error(`azure source: ${i.path.join('.')}${i.path.length ? ': ' : ''}${i.message}`)
  }
  const cfg = parsed.data
  const name = cfg.name ?? `azure:${cfg.workspaceId}`
  const client = deps.client ?? (await queryClientFor(cfg, await credentialFor(cfg, deps.credential)))
  const puller = new AzurePuller(cfg, client, name, deps.logger ?? (() => {}), deps.signal)
  const a = typeof from === 'number' ? from : from.getTime()
  const b = typeof to === 'number' ? to : to.getTime()
  if (!(a < b))
    throw new Error(
      `backfill: --from (${new Date(a).toISOString()}) must be before --to (${new Date(b).toISOString()})`,
    )
  let last: PullProgress = { from: a, to: b, doneUntil: a, rows: 0, records: 0, duplicates: 0 }
  await withWorkspaceLock(cfg.workspaceId, () =>
    puller.pull(
      a,
      b,
      (slice) => deliverSlice(deliver, slice),
      (p) => {
        last = p
        onProgress?.(p)
      },
    ),
  )
  return last
}

function parseState(state: unknown): AzureCheckpoint | undefined {
  if (!state || typeof state !== 'object') return undefined
  const s = state as AzureCheckpoint
  return s.v === 1 && typeof s.until === 'number' && Array.isArray(s.seen) ? s : undefined
}
